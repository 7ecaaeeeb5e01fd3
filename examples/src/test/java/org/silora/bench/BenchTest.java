package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.silora.hf.config.LlamaConfig;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bench's output contract (SPEC §6 names its keys; other tools read them), on a miniature run. No timing is
 * asserted: performance is what {@code silora bench} reports, not what a unit test decides.
 */
class BenchTest {

    @TempDir
    Path tmp;

    @Test
    void everyFigureOfTheSpecificationIsAPositiveNumber() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Jvm jvm = new Jvm() {
            @Override
            public ProcessBuilder child(List<String> args) {
                return org.silora.cli.SiloraMain.childProcess(args);
            }

            @Override
            public List<String> command(List<String> args) {
                return org.silora.cli.SiloraMain.javaCommand(List.of(), args);
            }
        };
        ObjectNode r = Bench.run(new Bench.Options(1, 1, 2, 16, 4, 4L << 20, false), tmp, new PrintStream(log, true, StandardCharsets.UTF_8), jvm);
        for (String key : List.of("gemm_gflops", "train_tokens_per_s", "mfu", "si_overhead", "importance_speedup",
                "importance_storage_ratio", "import_gb_per_s", "peak_rss_mb")) {
            assertTrue(r.has(key) && r.get(key).isNumber(), key + " is a number: " + r.get(key));
            assertTrue(r.get(key).asDouble() > 0, key + " > 0: " + r.get(key));
        }
        assertEquals("tiny-llama (shipped)", r.get("mfu_model").asText(), "without the large model the headline is the tiny one");
        // Ω of q/v (r 8) against the Fisher of every linear weight: a fixed property of the shipped model
        assertTrue(r.get("importance_storage_ratio").asDouble() < 0.2, r.toString());
        assertEquals(4, r.get("thread_settings").size(), "four thread settings measured side by side");
        // the paper protocol, scaled per token (no measurement at 800 tokens in this miniature run): exactly 2 x
        assertTrue(r.get("importance_speedup_paper_protocol").asDouble() > 0, r.toString());
        assertEquals(2 * r.get("importance_speedup").asDouble(), r.get("importance_speedup_paper_protocol").asDouble(),
                1e-9 * r.get("importance_speedup").asDouble(), r.get("importance_paper_protocol").toString());
        assertEquals(16, r.get("importance_paper_protocol").get("bench_tokens_per_sample").asInt());
        assertFalse(r.has("scaling"), "no scaling curves unless asked for");
        assertTrue(r.get("peers").get("torch").has("absent"), r.get("peers").toString());
        assertFalse(r.has("speed_ratio_vs_torch"));
        for (var row : r.get("thread_settings")) assertFalse(row.has("error"), row.toString());
        String table = Bench.table(r);
        assertTrue(table.contains("| mfu (tiny-llama (shipped)) |"), table);
        assertTrue(table.lines().count() > 10, table);
    }

    // ---- importance_speedup_paper_protocol -------------------------------------------------------------------------

    @Test
    void paperProtocolScaledPerTokenIsTwiceThePerSampleRatio() {
        // 0.2 s per Fisher sample and 0.1 s per nu sample at 128 tokens: at 800 tokens 1.25 s and 0.625 s;
        // Fisher 20000 x 1.25 = 25000 s, SI 2000 x 5 x 0.625 = 6250 s, ratio 4 (= 2 x 0.2 / 0.1)
        ObjectNode p = PaperProtocol.json(new ObjectMapper(), 0.2, 0.1, 128, null);
        assertEquals(1.25, p.get("per_sample_fisher_s_at_800").asDouble(), 1e-12);
        assertEquals(0.625, p.get("per_sample_si_s_at_800").asDouble(), 1e-12);
        assertEquals(25000, p.get("fisher_total_s").asDouble(), 1e-9);
        assertEquals(6250, p.get("si_total_s").asDouble(), 1e-9);
        assertEquals(4.0, p.get("speedup").asDouble(), 1e-12);
        assertEquals(0.2, p.get("per_sample_fisher_s").asDouble());
        assertEquals(0.1, p.get("per_sample_si_s").asDouble());
        assertEquals(128, p.get("bench_tokens_per_sample").asInt());
        assertEquals(800, p.get("paper_tokens_per_sample").asInt());
        assertEquals(20000, p.get("fisher_samples").asInt());
        assertEquals(2000, p.get("si_documents").asInt());
        assertEquals(5, p.get("si_epochs").asInt());
        assertTrue(p.get("formula").asText().contains("fisher_samples * per_sample_fisher_s_at_800"), p.toString());
        assertTrue(p.get("note").asText().contains("2 x"), p.toString());
        assertFalse(p.has("measured_at_800"));
    }

    @Test
    void paperProtocolPrefersTheMeasurementAt800Tokens() {
        // measured: 8 Fisher samples in 12 s (1.5 s each), 16 nu samples in 4 s (0.25 s each):
        // 20000 x 1.5 = 30000 s against 10000 x 0.25 = 2500 s, ratio 12
        ObjectNode p = PaperProtocol.json(new ObjectMapper(), 0.2, 0.1, 128, new PaperProtocol.Measured(8, 12.0, 16, 4.0));
        assertEquals(30000, p.get("fisher_total_s").asDouble(), 1e-9);
        assertEquals(2500, p.get("si_total_s").asDouble(), 1e-9);
        assertEquals(12.0, p.get("speedup").asDouble(), 1e-12);
        assertEquals(12.0, p.get("measured_at_800").get("speedup").asDouble(), 1e-12);
        assertEquals(4.0, p.get("scaled_per_token").get("speedup").asDouble(), 1e-12, "the per-token scaling stays beside it");
        assertTrue(p.get("method").asText().startsWith("measured"), p.toString());
    }

    // ---- scaling curves --------------------------------------------------------------------------------------------

    @Test
    void scalingCurveRatiosAgainstTheFirstPoint() {
        // FLOPs 1, 2, 4 GFLOP; median steps 0.5, 1.2, 2.0 s; peak 10 GFLOP/s; 1024 tokens per step
        List<Scaling.Point> pts = List.of(
                new Scaling.Point(512, 8, 1376, 8, 1, 128, 1024, 1e9, new Bench.Stat(0.4, 0.5, 5)),
                new Scaling.Point(512, 8, 1376, 8, 1, 256, 1024, 2e9, new Bench.Stat(1.1, 1.2, 3)),
                new Scaling.Point(512, 8, 1376, 8, 1, 512, 1024, 4e9, new Bench.Stat(1.9, 2.0, 2)));
        ArrayNode a = Scaling.curveJson(new ObjectMapper(), pts, 10.0);
        assertEquals(3, a.size());
        double[] gflops = {2.0, 2e9 / 1.2 / 1e9, 2.0};
        double[] timeVsFlop = {1.0, (1.2 / 0.5) / 2, (2.0 / 0.5) / 4};
        for (int i = 0; i < 3; i++) {
            JsonNode p = a.get(i);
            assertEquals(gflops[i], p.get("gflop_per_s").asDouble(), 1e-9, p.toString());
            assertEquals(gflops[i] / 10.0, p.get("mfu").asDouble(), 1e-9, p.toString());
            assertEquals(timeVsFlop[i], p.get("time_ratio_vs_flop_ratio").asDouble(), 1e-9, p.toString());
            assertEquals(1024 / pts.get(i).step().median(), p.get("train_tokens_per_s").asDouble(), 1e-9);
            assertEquals(pts.get(i).flops() / 1e9, p.get("model_gflop_per_step").asDouble(), 1e-12);
            assertEquals(pts.get(i).step().median(), p.get("step").get("median_s").asDouble());
        }
        assertEquals(1.2, a.get(1).get("time_ratio_vs_flop_ratio").asDouble(), 1e-9, "2.4 x the time for 2 x the FLOPs");
        assertEquals(4.0, a.get(2).get("flop_ratio").asDouble(), 1e-12);
        assertEquals(4.0, a.get(2).get("time_ratio").asDouble(), 1e-12);

        ObjectNode sc = new ObjectMapper().createObjectNode();
        sc.set("seq_len", a);
        sc.set("width", new ObjectMapper().createArrayNode());
        String t = Scaling.table(sc);
        assertTrue(t.contains("| 512 × 8 | 1 × 256 | 2.0 | 1.200 | 853 | 1.7 | 0.167 | 1.20 |"), t);
        assertFalse(t.contains("scaling, width"), "an empty curve prints no table");
    }

    @Test
    void widthCurveModelsAreLlamaShaped() {
        assertEquals(List.of(688, 1376, 2752, 5504), Scaling.WIDTHS.stream().map(Scaling::intermediate).toList());
        assertEquals(11008, Scaling.intermediate(4096), "LLaMA-7B's");
        LlamaConfig c = Scaling.config(1024, 4);
        assertEquals(16, c.numHeads());
        assertEquals(64, c.headDim());
        assertEquals(4, c.numLayers());
        assertEquals(Bench.largeConfig().intermediateSize(), Scaling.config(512, 8).intermediateSize());
        // about 8 s of timed steps per point, 3 at least, the bench's repeats at most
        assertEquals(5, Scaling.repeats(0.3, 5));
        assertEquals(4, Scaling.repeats(2.0, 5));
        assertEquals(3, Scaling.repeats(9.0, 5));
        assertEquals(3, Scaling.repeats(0.1, 1));
    }

    @Test
    void aScalingPointIsMeasuredThroughTheTrainer() {
        LlamaConfig c = Scaling.config(64, 1);
        Bench.Subject s = new Bench.Subject("d64", c, org.silora.demo.Pretraining.initialWeights(c, 1), null);
        Scaling.Point p = Scaling.measure(s, 2, 16, new Bench.Options(2, 1, 8, 128, 4, 1, false), quiet(), "test");
        assertEquals(32, p.tokensPerStep());
        assertEquals(3, p.step().n());
        assertTrue(p.step().median() > 0);
        assertTrue(p.flops() > 2 * 2 * 32 * 4096 * 64, "at least the forward of lm_head: " + p.flops());
    }

    // ---- peers -----------------------------------------------------------------------------------------------------

    @Test
    void missingPeersAreAbsentNotFailures() throws Exception {
        Path peers = Files.createDirectories(tmp.resolve("peers"));
        Path blas = Files.createDirectories(tmp.resolve("blas"));
        Files.writeString(blas.resolve("libblas.so.3"), "");
        // no script
        Peers.Setup s = new Peers.Setup(peers, Path.of("/usr/bin/python3"), blas, List.of(peers.resolve("djl-peer")), 1, 5, null);
        assertTrue(Peers.torch(s, tmp, quiet()).get("absent").asText().contains(Peers.TORCH_SCRIPT));
        Files.writeString(peers.resolve(Peers.TORCH_SCRIPT), "");
        // no interpreter
        s = new Peers.Setup(peers, tmp.resolve("no-such-python"), blas, List.of(), 1, 5, null);
        assertTrue(Peers.torch(s, tmp, quiet()).get("absent").asText().contains("no Python"));
        // an interpreter without torch
        s = new Peers.Setup(peers, script("nopython", "exit 1"), blas, List.of(), 1, 5, null);
        assertTrue(Peers.torch(s, tmp, quiet()).get("absent").asText().contains("cannot import torch"));
        // no OpenBLAS
        s = new Peers.Setup(peers, script("python", "exit 0"), tmp.resolve("no-blas"), List.of(), 1, 5, null);
        assertTrue(Peers.torch(s, tmp, quiet()).get("absent").asText().contains("no OpenBLAS"));
        // no built DJL jar
        assertTrue(Peers.djl(s, tmp, quiet()).get("absent").asText().contains("djl-peer.jar"));
        // skipped
        assertEquals("--no-peers", Peers.torch(Peers.Setup.none("--no-peers"), tmp, quiet()).get("absent").asText());
        // the whole peers section of the bench: absent peers, no ratio, no exception
        ObjectNode p = Bench.peers(new ObjectMapper(), Bench.Options.standard().withPeers(s), 2.0, tmp, quiet());
        assertTrue(p.get("torch").has("absent"));
        assertFalse(p.has("speed_ratio_vs_torch"));
    }

    @Test
    void aPeerThatRanGivesTheSpeedRatio() throws Exception {
        Path peers = Files.createDirectories(tmp.resolve("peers"));
        Files.writeString(peers.resolve(Peers.TORCH_SCRIPT), "");
        Path blas = Files.createDirectories(tmp.resolve("blas"));
        Files.writeString(blas.resolve("libblas.so.3"), "");
        // a stand-in interpreter: imports torch, then prints a log line and the peer's JSON line (checks its arguments)
        Path py = script("python", """
                [ "$1" = "-c" ] && exit 0
                [ "$1" = "peer_torch_lora.py" ] && [ "$2" = "--blas-dir" ] && [ "$4" = "--threads" ] || exit 3
                [ "$OMP_WAIT_POLICY" = "PASSIVE" ] || exit 4
                echo "loading"
                echo '{"median_step_s": 3.0, "tokens_per_s": 341.3}'
                """);
        Peers.Setup s = new Peers.Setup(peers, py, blas, List.of(), 2, 20, null);
        ObjectNode p = Bench.peers(new ObjectMapper(), Bench.Options.standard().withPeers(s), 1.5, tmp, quiet());
        assertEquals(3.0, p.get("torch").get("median_step_s").asDouble(), p.toString());
        assertEquals(2.0, p.get("speed_ratio_vs_torch").asDouble(), 1e-12, "torch 3.0 s / ours 1.5 s: ours twice as fast");
        assertTrue(p.get("torch").get("command").asText().contains("--threads 2"), p.toString());
        assertTrue(p.get("djl_libtorch").has("absent"));
        assertEquals(0.5, Peers.speedRatio(new ObjectMapper().readTree("{\"median_step_s\": 1.0}"), 2.0), 1e-12);
        assertNull(Peers.speedRatio(new ObjectMapper().readTree("{\"error\": \"x\"}"), 2.0));
        // another step shape than the peers' 8 x 128: no ratio
        ObjectNode q = Bench.peers(new ObjectMapper(), Bench.Options.quick().withPeers(s), 1.5, tmp, quiet());
        assertFalse(q.has("speed_ratio_vs_torch"), q.toString());
    }

    @Test
    void aPeerThatHangsIsStoppedAndReported() throws Exception {
        Path peers = Files.createDirectories(tmp.resolve("peers"));
        Files.writeString(peers.resolve(Peers.TORCH_SCRIPT), "");
        Path blas = Files.createDirectories(tmp.resolve("blas"));
        Files.writeString(blas.resolve("libblas.so.3"), "");
        Path py = script("python", "[ \"$1\" = \"-c\" ] && exit 0\nsleep 30\n");
        long t0 = System.nanoTime();
        ObjectNode r = Peers.torch(new Peers.Setup(peers, py, blas, List.of(), 1, 1, null), tmp, quiet());
        assertTrue(r.get("error").asText().contains("timed out"), r.toString());
        assertTrue((System.nanoTime() - t0) / 1e9 < 15, "stopped at the timeout");
        // a peer whose output is not JSON
        Path bad = script("python-bad", "[ \"$1\" = \"-c\" ] && exit 0\necho not json\n");
        assertTrue(Peers.torch(new Peers.Setup(peers, bad, blas, List.of(), 1, 5, null), tmp, quiet()).get("error").asText().contains("no JSON"));
    }

    @Test
    void peersFolderFromTheEnvironment() {
        Peers.Setup s = Peers.Setup.defaults(null, Map.of("SILORA_PEERS", "/x/peers", "SILORA_PEER_BLAS", "/y/blas"));
        assertEquals(Path.of("/x/peers"), s.dir());
        assertEquals(Path.of("/y/blas"), s.blasDir());
        assertNull(s.skip());
        assertEquals(Path.of("/x/peers/djl-peer"), s.djlDirs().get(0));
        Peers.Setup e = Peers.Setup.defaults(Path.of("/explicit"), Map.of("SILORA_PEERS", "/x/peers", "PEER_CACHE", "/c"));
        assertEquals(Path.of("/explicit"), e.dir(), "--peers wins over $SILORA_PEERS");
        assertEquals(Path.of("/c/openblas-omp/usr/lib/x86_64-linux-gnu/openblas-openmp"), e.blasDir());
        assertNotNull(Peers.Setup.defaults(null, Map.of()).blasDir());
    }

    private Path script(String name, String body) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    private static PrintStream quiet() {
        return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    }
}
