package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.silora.demo.ShippedModels;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfigs;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bench's output contract (SPEC §6 names its keys; other tools read them) and its arithmetic: every derived
 * figure of a miniature run is recomputed here from the raw figures beside it in the same JSON, and model FLOPs and
 * byte counts from the model's configuration by plain counting. No timing is asserted: performance is what
 * {@code silora bench} reports, not what a unit test decides.
 */
class BenchTest {

    @TempDir
    Path tmp;

    /** SPEC §6: the figures every run reports. */
    static final Set<String> SPEC_FIGURES = Set.of("gemm_gflops", "train_tokens_per_s", "mfu", "si_overhead", "importance_speedup",
            "importance_storage_ratio", "import_gb_per_s", "peak_rss_mb", "importance_speedup_paper_protocol", "peers");

    /** A run without the large model, scaling curves, the measurement at 800 tokens and peers: SPEC's figures and their details. */
    static final Set<String> MINIATURE_KEYS = union(SPEC_FIGURES, Set.of("machine", "gemm", "train", "train_tokens_per_s_tiny",
            "mfu_tiny", "mfu_model", "thread_settings", "si_overhead_detail", "si_overhead_exact", "importance",
            "importance_speedup_batched", "importance_paper_protocol", "importance_storage_ratio_f16", "import", "section_seconds"));

    /** One small bench run (the shipped tiny model at 2 × 16 tokens, 4 samples, a 4 MB checkpoint), read by each test. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class MiniatureRun {

        Path work;
        Bench.Options opt;
        ObjectNode r;

        @BeforeAll
        void run(@TempDir Path dir) throws Exception {
            work = dir;
            opt = Bench.Options.quick().toBuilder().repeats(1).warmup(1).batch(2).seqLen(16).samples(4).importBytes(4L << 20).build();
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
            r = Bench.run(opt, work, quiet(), jvm);
        }

        LlamaConfig tinyConfig() {
            try {
                return (LlamaConfig) ModelConfigs.load(ShippedModels.extract("tiny-llama", work.resolve("models")));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Test
        void itsKeysAreExactlySpecsFiguresAndTheirDetails() {
            assertTrue(keys(r).containsAll(SPEC_FIGURES), "SPEC §6: " + keys(r));
            assertEquals(MINIATURE_KEYS, keys(r));
            for (String k : SPEC_FIGURES) if (!k.equals("peers")) assertTrue(r.get(k).isNumber(), k + ": " + r.get(k));
            assertEquals(Set.of("gemm", "train", "thread_settings", "si_overhead", "importance", "import", "total"), keys(r.get("section_seconds")));
        }

        @Test
        void gemmPeakIsTheBestOfItsSizes() {
            double best = 0;
            for (String n : List.of("256", "512", "1024", "2048")) best = Math.max(best, r.get("gemm").get(n).asDouble());
            assertEquals(4, r.get("gemm").size());
            assertEquals(best, r.get("gemm_gflops").asDouble());
        }

        @Test
        void mfuIsTheCountedFlopsOverTheMedianStepAndThePeak() {
            LlamaConfig c = tinyConfig();
            JsonNode row = r.get("train").get(0);
            assertEquals(1, r.get("train").size(), "no large model in this run");
            double median = row.get("step").get("median_s").asDouble();
            double flops = loraStepFlopsByCounting(c, 8, opt.batch(), opt.seqLen());
            assertEquals(flops / 1e9, row.get("model_gflop_per_step").asDouble(), 1e-12 * flops);
            assertEquals(flops / median / (r.get("gemm_gflops").asDouble() * 1e9), row.get("mfu").asDouble(), 1e-12);
            assertEquals((long) opt.batch() * opt.seqLen(), row.get("tokens_per_step").asLong(), "each row predicts seqLen tokens");
            assertEquals(opt.batch() * opt.seqLen() / median, row.get("train_tokens_per_s").asDouble(), 1e-9);
            assertEquals((long) c.vocabSize() * c.hiddenSize() + linearWeightsButLmHead(c), row.get("parameters").asLong());
            assertEquals(opt.repeats(), row.get("step").get("n").asInt());
            if ("direct".equals(row.get("engine").asText())) {
                assertEquals(row.get("samediff_step").get("median_s").asDouble() / median, row.get("speedup_vs_samediff").asDouble(), 1e-12);
            }
            // without the large model the headline is the tiny one
            assertEquals(row.get("model").asText(), r.get("mfu_model").asText());
            assertEquals(row.get("mfu").asDouble(), r.get("mfu").asDouble());
            assertEquals(row.get("mfu").asDouble(), r.get("mfu_tiny").asDouble());
            assertEquals(row.get("train_tokens_per_s").asDouble(), r.get("train_tokens_per_s").asDouble());
            assertEquals(row.get("train_tokens_per_s").asDouble(), r.get("train_tokens_per_s_tiny").asDouble());
        }

        @Test
        void siOverheadIsTheRatioOfItsTwoMedians() {
            JsonNode si = r.get("si_overhead_detail");
            for (String mode : List.of("paper", "exact")) {
                assertEquals(si.get(mode + "_step_s").asDouble() / si.get(mode + "_without_step_s").asDouble(), si.get(mode).asDouble(), 1e-12, mode);
            }
            assertEquals(si.get("paper").asDouble(), r.get("si_overhead").asDouble(), "the default mode is the headline");
            assertEquals(si.get("exact").asDouble(), r.get("si_overhead_exact").asDouble());
        }

        @Test
        void importanceFiguresFollowFromItsTimingsAndTheModelsShape() {
            JsonNode imp = r.get("importance");
            double fisher = imp.get("fisher_seconds").asDouble();
            double nu = imp.get("si_nu_seconds").asDouble();
            assertEquals(opt.samples(), imp.get("samples").asInt());
            assertEquals(opt.batch(), imp.get("si_nu_batch").asInt());
            assertEquals(fisher / nu, r.get("importance_speedup").asDouble(), 1e-12 * fisher / nu);
            assertEquals(imp.get("fisher_batched_seconds").asDouble() / nu, r.get("importance_speedup_batched").asDouble(), 1e-12);
            // the Fisher covers every linear weight but lm_head, Ω the LoRA targets' weights (q_proj, v_proj): F32 4 bytes, F16 2
            LlamaConfig c = tinyConfig();
            long targets = (long) c.numLayers() * c.hiddenSize() * (c.numHeads() + c.numKeyValueHeads()) * c.headDim();
            assertEquals(4 * linearWeightsButLmHead(c), imp.get("fisher_bytes").asLong());
            assertEquals(4 * targets, imp.get("omega_bytes_f32").asLong());
            assertEquals(2 * targets, imp.get("omega_bytes_f16").asLong());
            assertEquals((double) targets / linearWeightsButLmHead(c), r.get("importance_storage_ratio").asDouble(), 1e-12);
            assertEquals(0.5 * targets / linearWeightsButLmHead(c), r.get("importance_storage_ratio_f16").asDouble(), 1e-12);
            // the paper protocol, scaled per token (no measurement at 800 tokens here): exactly 2 x, from the same per-sample costs
            JsonNode paper = r.get("importance_paper_protocol");
            assertEquals(fisher / opt.samples(), paper.get("per_sample_fisher_s").asDouble(), 1e-15);
            assertEquals(nu / opt.samples(), paper.get("per_sample_si_s").asDouble(), 1e-15);
            assertEquals(opt.seqLen(), paper.get("bench_tokens_per_sample").asInt());
            assertFalse(paper.has("measured_at_800"));
            assertEquals(2 * r.get("importance_speedup").asDouble(), r.get("importance_speedup_paper_protocol").asDouble(),
                    1e-9 * r.get("importance_speedup").asDouble(), paper.toString());
        }

        @Test
        void importSpeedIsTheCheckpointsBytesOverTheMedianRead() {
            JsonNode imp = r.get("import");
            // the checkpoint's config.json stays behind; the file held exactly its weights in BF16 (2 bytes) and a header
            LlamaConfig c = (LlamaConfig) ModelConfigs.load(work.resolve("import-checkpoint"));
            assertEquals(1, c.numLayers(), "4 MB is less than one layer of 12 x 1024^2 BF16 weights: at least one");
            long kv = (long) c.numKeyValueHeads() * c.headDim();
            long weights = 2L * c.vocabSize() * c.hiddenSize()                                    // embedding, untied lm_head
                    + c.numLayers() * (2L * c.hiddenSize() * c.hiddenSize() + 2L * c.hiddenSize() * kv   // q, o; k, v
                    + 3L * c.hiddenSize() * c.intermediateSize() + 2L * c.hiddenSize())                 // MLP; two norms
                    + c.hiddenSize();                                                                    // final norm
            long header = imp.get("file_bytes").asLong() - 2 * weights;
            assertTrue(header > 8 && header < 64 << 10, "a safetensors header of " + header + " bytes");
            assertEquals("BF16", imp.get("dtype").asText());
            double read = imp.get("read_all_tensors").get("median_s").asDouble();
            assertEquals(imp.get("file_bytes").asLong() / read / 1e9, imp.get("read_gb_per_s").asDouble(), 1e-12);
            assertEquals(imp.get("file_bytes").asLong() / imp.get("graph_import").get("median_s").asDouble() / 1e9,
                    imp.get("graph_import_gb_per_s").asDouble(), 1e-12);
            assertEquals(imp.get("read_gb_per_s").asDouble(), r.get("import_gb_per_s").asDouble());
            assertFalse(Files.exists(work.resolve("import-checkpoint").resolve("model.safetensors")), "the weights file is removed");
        }

        @Test
        void peakRssIsThisProcesssHighWaterMark() throws Exception {
            // VmHWM only grows: read now, it bounds what the run read
            long now = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM:"))
                    .mapToLong(l -> Long.parseLong(l.replaceAll("\\D+", "")) / 1024).findFirst().orElseThrow();
            long reported = r.get("peak_rss_mb").asLong();
            assertTrue(reported > 0 && reported <= now, reported + " MB reported, " + now + " MB now");
        }

        @Test
        void eachThreadSettingRanInItsOwnJvm() {
            JsonNode rows = r.get("thread_settings");
            List<ThreadSettings.Setting> settings = ThreadSettings.settings();
            assertEquals(settings.size(), rows.size());
            for (int i = 0; i < rows.size(); i++) {
                JsonNode row = rows.get(i);
                assertEquals(settings.get(i).name(), row.get("setting").asText());
                assertEquals(settings.get(i).env(), new ObjectMapper().convertValue(row.get("env"), Map.class));
                assertFalse(row.has("error"), row.toString());
                assertTrue(row.get("tiny_step_s").isNumber(), row.toString());
                assertFalse(row.has("large_step_s"), "a run without the large model asks its children for none: " + row);
            }
        }

        @Test
        void peersAreAbsentForTheOptionsReasonAndGiveNoRatio() {
            for (String peer : List.of("torch", "djl_libtorch")) {
                assertEquals(opt.peers().skip(), r.get("peers").get(peer).get("absent").asText());
            }
            assertFalse(r.has("speed_ratio_vs_torch") || r.has("speed_ratio_vs_libtorch"));
        }

        @Test
        void sectionsFollowEachOtherWithinTheTotal() {
            JsonNode s = r.get("section_seconds");
            double sum = 0;
            for (String k : List.of("gemm", "train", "thread_settings", "si_overhead", "importance", "import")) {
                assertTrue(s.get(k).asDouble() >= 0, k);
                sum += s.get(k).asDouble();
            }
            assertTrue(sum <= s.get("total").asDouble(), s.toString());
        }

        @Test
        void theTableShowsTheJsonsFigures() {
            String t = Bench.table(r);
            assertTrue(t.contains(String.format(Locale.ROOT, "| gemm_gflops | %.1f |", r.get("gemm_gflops").asDouble())), t);
            assertTrue(t.contains(String.format(Locale.ROOT, "| mfu (tiny-llama (shipped)) | %.3f |", r.get("mfu").asDouble())), t);
            assertTrue(t.contains(String.format(Locale.ROOT, "| importance_speedup (Fisher: one backward per sample) | %.2f |",
                    r.get("importance_speedup").asDouble())), t);
            assertTrue(t.contains(String.format(Locale.ROOT, "| peak_rss_mb | %d |", r.get("peak_rss_mb").asLong())), t);
            assertTrue(t.contains("absent: " + opt.peers().skip()), t);
            for (JsonNode row : r.get("thread_settings")) {
                String line = String.format(Locale.ROOT, "| %s | %.3f | – |", row.get("setting").asText(), row.get("tiny_step_s").asDouble());
                assertTrue(t.contains(line), line + " in\n" + t);
            }
        }
    }

    // ---- options ---------------------------------------------------------------------------------------------------

    @Test
    void presetsAreWhatTheHelpTextSays() {
        Bench.Options q = Bench.Options.quick();
        Bench.Options s = Bench.Options.standard();
        // --quick: "smaller measurements (no large model, smaller import checkpoint, no scaling curves, no peers)"
        assertFalse(q.largeModel() || q.scaling() || q.importanceAt800());
        assertNotNull(q.peers().skip());
        assertTrue(q.importBytes() < s.importBytes() && q.seqLen() <= s.seqLen() && q.repeats() <= s.repeats());
        assertTrue(s.largeModel() && s.scaling() && s.importanceAt800());
        // the standard step is the peers' step, or no speed ratio could be given
        assertEquals(Peers.STEP_ROWS, s.batch());
        assertEquals(Peers.STEP_TOKENS, s.seqLen());
    }

    @Test
    void aBuilderChangesOnlyWhatItNames() {
        Bench.Options s = Bench.Options.standard();
        assertEquals(s, s.toBuilder().build());
        Bench.Options n = s.toBuilder().scaling(false).warmup(9).build();
        assertFalse(n.scaling());
        assertEquals(9, n.warmup());
        assertEquals(s, n.toBuilder().scaling(true).warmup(s.warmup()).build(), "nothing else changed");
    }

    @Test
    void badOptionsAreRefusedWithOneLineNamingTheValue() {
        Map<String, java.util.function.UnaryOperator<Bench.Options.Builder>> bad = new LinkedHashMap<>();
        bad.put("repeats must be at least 1, got 0", b -> b.repeats(0));
        bad.put("warmup must be at least 0, got -1", b -> b.warmup(-1));
        bad.put("batch must be at least 1, got 0", b -> b.batch(0));
        bad.put("seqLen must be at least 2, got 1", b -> b.seqLen(1));
        bad.put("importBytes must be at least 1, got 0", b -> b.importBytes(0));
        bad.put("samples must be at least batch (8", b -> b.batch(8).samples(7));
        bad.put("peers is missing", b -> b.peers(null));
        bad.forEach((message, change) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> change.apply(Bench.Options.quick().toBuilder()).build());
            assertTrue(e.getMessage().startsWith("bench options: ") && e.getMessage().contains(message), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        });
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
                new Scaling.Point(512, 8, 1376, 8, 1, 128, 1024, 1e9, new Stat(0.4, 0.5, 5)),
                new Scaling.Point(512, 8, 1376, 8, 1, 256, 1024, 2e9, new Stat(1.1, 1.2, 3)),
                new Scaling.Point(512, 8, 1376, 8, 1, 512, 1024, 4e9, new Stat(1.9, 2.0, 2)));
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
        assertEquals(Subject.largeConfig().intermediateSize(), Scaling.config(512, 8).intermediateSize());
        // about 8 s of timed steps per point, 3 at least, the bench's repeats at most
        assertEquals(5, Scaling.repeats(0.3, 5));
        assertEquals(4, Scaling.repeats(2.0, 5));
        assertEquals(3, Scaling.repeats(9.0, 5));
        assertEquals(3, Scaling.repeats(0.1, 1));
    }

    @Test
    void aScalingPointIsMeasuredThroughTheTrainer() {
        LlamaConfig c = Scaling.config(64, 1);
        Subject s = new Subject("d64", c, org.silora.demo.Pretraining.initialWeights(c, 1), null);
        Scaling.Point p = Scaling.measure(s, 2, 16, 2, quiet(), "test");
        assertEquals(32, p.tokensPerStep(), "2 rows predicting 16 tokens each");
        assertEquals(Scaling.MIN_REPEATS, p.step().n(), "never fewer than the minimum, even when the bench asks for 2");
        assertEquals(loraStepFlopsByCounting(c, 8, 2, 16), p.flops(), 1e-9 * p.flops());
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
        ObjectNode p = Peers.compare(new ObjectMapper(), s, Peers.STEP_ROWS, Peers.STEP_TOKENS, 2.0, tmp, quiet());
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
        ObjectNode p = Peers.compare(new ObjectMapper(), s, Peers.STEP_ROWS, Peers.STEP_TOKENS, 1.5, tmp, quiet());
        assertEquals(3.0, p.get("torch").get("median_step_s").asDouble(), p.toString());
        assertEquals(2.0, p.get("speed_ratio_vs_torch").asDouble(), 1e-12, "torch 3.0 s / ours 1.5 s: ours twice as fast");
        assertTrue(p.get("torch").get("command").asText().contains("--threads 2"), p.toString());
        assertTrue(p.get("djl_libtorch").has("absent"));
        assertEquals(0.5, Peers.speedRatio(new ObjectMapper().readTree("{\"median_step_s\": 1.0}"), 2.0), 1e-12);
        assertNull(Peers.speedRatio(new ObjectMapper().readTree("{\"error\": \"x\"}"), 2.0));
        // another step shape than the peers' 8 x 128: no ratio
        ObjectNode q = Peers.compare(new ObjectMapper(), s, Peers.STEP_ROWS, Peers.STEP_TOKENS / 2, 1.5, tmp, quiet());
        assertFalse(q.has("speed_ratio_vs_torch"), q.toString());
        assertTrue(q.get("note").asText().startsWith("no speed ratio"), q.toString());
    }

    @Test
    void aPeerThatHangsIsStoppedAndReported() throws Exception {
        Path peers = Files.createDirectories(tmp.resolve("peers"));
        Files.writeString(peers.resolve(Peers.TORCH_SCRIPT), "");
        Path blas = Files.createDirectories(tmp.resolve("blas"));
        Files.writeString(blas.resolve("libblas.so.3"), "");
        // the peer writes its process id, then sleeps far past the 1 s timeout
        Path pid = tmp.resolve("peer.pid");
        Path py = script("python", "[ \"$1\" = \"-c\" ] && exit 0\necho $$ > " + pid + "\nexec sleep 30\n");
        ObjectNode r = Peers.torch(new Peers.Setup(peers, py, blas, List.of(), 1, 1, null), tmp, quiet());
        assertTrue(r.get("error").asText().contains("timed out after 1 s"), r.toString());
        long id = Long.parseLong(Files.readString(pid).strip());
        assertFalse(ProcessHandle.of(id).map(ProcessHandle::isAlive).orElse(false), "the peer's process is stopped, not left behind");
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

    /**
     * Model FLOPs of a LoRA step (r on q_proj and v_proj) counted from a LLaMA configuration: 2 FLOPs per
     * multiply-add; forward through every linear weight (lm_head included), the LoRA path (x·A then ·B) and attention's
     * two T × T products per head; backward through frozen weights for activation gradients only (once more each),
     * through the LoRA factors and attention for both operands (twice more each).
     */
    static double loraStepFlopsByCounting(LlamaConfig c, int r, int rows, int tokens) {
        double n = (double) rows * tokens;
        double h = c.hiddenSize();
        double q = (double) c.numHeads() * c.headDim();
        double kv = (double) c.numKeyValueHeads() * c.headDim();
        double perLayer = h * q + 2 * h * kv + q * h + 3 * h * c.intermediateSize();
        double linear = 2 * n * (c.numLayers() * perLayer + h * c.vocabSize());
        double lora = 2 * n * r * ((h + q) + (h + kv)) * c.numLayers();
        double attention = 2 * 2 * n * tokens * q * c.numLayers();
        return 2 * linear + 3 * lora + 3 * attention;
    }

    /** Weights of every linear module but lm_head: q, k, v, o and the three MLP matrices per layer. */
    static long linearWeightsButLmHead(LlamaConfig c) {
        long h = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        return c.numLayers() * (h * q + 2 * h * kv + q * h + 3 * h * c.intermediateSize());
    }

    static Set<String> keys(JsonNode o) {
        Set<String> k = new TreeSet<>();
        o.fieldNames().forEachRemaining(k::add);
        return k;
    }

    static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new TreeSet<>(a);
        u.addAll(b);
        return u;
    }

    private static PrintStream quiet() {
        return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    }
}
