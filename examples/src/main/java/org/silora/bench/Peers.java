package org.silora.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The peers of {@code ../shared/peers} (the same LoRA step as the bench's d512 × 8 headline, in PyTorch and in
 * libtorch through DJL), run by the bench when they are already on the machine: never a dependency of the build or
 * the tests, never installed by the bench. A peer that is not there is reported as {@code {"absent": "why"}}, one
 * that fails as {@code {"error": "why"}}; neither fails the bench.
 *
 * <ul>
 *   <li>PyTorch: {@code OMP_WAIT_POLICY=PASSIVE python3 peer_torch_lora.py --blas-dir B --threads N}, run when
 *       {@code python3 -c "import torch"} succeeds and B (an OpenBLAS OpenMP build, what {@code setup-torch-peer.sh}
 *       prints once it has installed it: {@code $SILORA_PEER_BLAS}, else
 *       {@code ${PEER_CACHE:-/tmp/silora-peer}/openblas-omp/usr/lib/x86_64-linux-gnu/openblas-openmp}) holds
 *       {@code libblas.so.3}. The setup script itself is never run (it would install packages).</li>
 *   <li>libtorch (DJL): {@code sh run.sh --threads N} of a {@code djl-peer} folder whose {@code target/djl-peer.jar}
 *       is already built (the peers folder's own, or the writable copy {@code /tmp/djl-peer} its README suggests).</li>
 * </ul>
 *
 * <pre>{@code
 * ObjectNode torch = Peers.torch(Peers.Setup.defaults(null), work, System.err);
 * }</pre>
 */
public final class Peers {

    /** The file name of the PyTorch peer in the peers folder. */
    public static final String TORCH_SCRIPT = "peer_torch_lora.py";

    /**
     * Where the peers are and how to run them.
     *
     * @param dir            the peers folder ({@code null}: none found; {@link #skip} then says why)
     * @param python         the Python interpreter of the PyTorch peer
     * @param blasDir        the folder holding the OpenBLAS {@code libblas.so.3} the PyTorch peer loads
     * @param djlDirs        {@code djl-peer} folders to look for a built jar in, first found wins
     * @param threads        {@code --threads} of each peer (this machine's cores, as ND4J uses)
     * @param timeoutSeconds the longest a peer may run (the import check of torch included)
     * @param skip           non-null: run no peer, report this reason for each
     */
    public record Setup(Path dir, Path python, Path blasDir, List<Path> djlDirs, int threads, int timeoutSeconds, String skip) {
        public Setup {
            djlDirs = List.copyOf(djlDirs);
        }

        /** No peer is run; each is reported absent for {@code reason}. */
        public static Setup none(String reason) {
            return new Setup(null, null, null, List.of(), 1, 1, reason);
        }

        /**
         * The default places: {@code explicitDir} (the {@code --peers} option) when given, else {@code $SILORA_PEERS},
         * else {@code ../shared/peers} or {@code shared/peers} relative to the working folder; {@code /usr/bin/python3};
         * the OpenBLAS folder of {@code $SILORA_PEER_BLAS} or where {@code setup-torch-peer.sh} puts it.
         */
        public static Setup defaults(Path explicitDir) {
            return defaults(explicitDir, System.getenv());
        }

        static Setup defaults(Path explicitDir, Map<String, String> env) {
            Path dir = explicitDir;
            String skip = null;
            if (dir == null && env.get("SILORA_PEERS") != null && !env.get("SILORA_PEERS").isBlank()) {
                dir = Path.of(env.get("SILORA_PEERS"));
            }
            if (dir == null) {
                for (Path c : List.of(Path.of("..", "shared", "peers"), Path.of("shared", "peers"))) {
                    if (Files.isDirectory(c)) {
                        dir = c.toAbsolutePath().normalize();
                        break;
                    }
                }
                if (dir == null) skip = "no peers folder (--peers DIR, $SILORA_PEERS, ../shared/peers or shared/peers)";
            }
            String blas = env.get("SILORA_PEER_BLAS");
            String cache = env.getOrDefault("PEER_CACHE", "/tmp/silora-peer");
            Path blasDir = blas != null && !blas.isBlank() ? Path.of(blas)
                    : Path.of(cache, "openblas-omp", "usr", "lib", "x86_64-linux-gnu", "openblas-openmp");
            List<Path> djl = new ArrayList<>();
            if (dir != null) djl.add(dir.resolve("djl-peer"));
            djl.add(Path.of("/tmp/djl-peer"));
            return new Setup(dir, Path.of("/usr/bin/python3"), blasDir, djl, Runtime.getRuntime().availableProcessors(), 120, skip);
        }
    }

    /** Rows per step of the peers' LoRA step (fixed in their scripts). */
    static final int STEP_ROWS = 8;
    /** Tokens per row of the peers' LoRA step. */
    static final int STEP_TOKENS = 128;

    private Peers() {
    }

    /**
     * The bench's {@code peers} object beside our step: {@code torch} and {@code djl_libtorch} (each its JSON line, or
     * {@code absent} / {@code error}), {@code ours_median_step_s}, and {@code speed_ratio_vs_torch} /
     * {@code speed_ratio_vs_libtorch} = the peer's median step ÷ ours (≥ 1: ours is faster) when the peer ran and our
     * step is the peers' {@value #STEP_ROWS} × {@value #STEP_TOKENS} tokens; otherwise a {@code note} says why there
     * is no ratio.
     *
     * @param rows   rows per step of our measurement
     * @param tokens tokens per row of our measurement
     */
    static ObjectNode compare(ObjectMapper om, Setup s, int rows, int tokens, double ourMedianStepSeconds, Path work, PrintStream log) {
        ObjectNode p = om.createObjectNode();
        ObjectNode torch = torch(s, work, log);
        ObjectNode djl = djl(s, work, log);
        p.set("torch", torch);
        p.set("djl_libtorch", djl);
        p.put("ours_median_step_s", ourMedianStepSeconds);
        if (rows != STEP_ROWS || tokens != STEP_TOKENS) {
            p.put("note", "no speed ratio: this run's step is " + rows + " x " + tokens + " tokens, the peers' "
                    + STEP_ROWS + " x " + STEP_TOKENS);
            return p;
        }
        Double rt = speedRatio(torch, ourMedianStepSeconds);
        if (rt != null) p.put("speed_ratio_vs_torch", rt);
        Double rd = speedRatio(djl, ourMedianStepSeconds);
        if (rd != null) p.put("speed_ratio_vs_libtorch", rd);
        return p;
    }

    /** The {@code peers} object of a run without a d512 × 8 step of ours: each peer absent, for the setup's reason. */
    static ObjectNode notCompared(ObjectMapper om, Setup s) {
        String why = s.skip() != null ? s.skip() : "no d512 x 8 measurement in this run to compare with";
        ObjectNode p = om.createObjectNode();
        p.set("torch", absent(om, why));
        p.set("djl_libtorch", absent(om, why));
        return p;
    }

    /** The PyTorch peer's JSON line (plus {@code command} and {@code wall_s}), or {@code absent} / {@code error}. */
    public static ObjectNode torch(Setup s, Path work, PrintStream log) {
        ObjectMapper om = new ObjectMapper();
        String why = torchAbsence(s);
        if (why != null) return absent(om, why);
        // the import check takes a few seconds (it loads torch); a broken installation shows here, not as a hang
        Run check = run(List.of(s.python().toString(), "-c", "import torch"), null, Map.of(), Math.min(60, s.timeoutSeconds()), work, "torch-import");
        if (check.error() != null || check.exit() != 0) {
            return absent(om, s.python() + " cannot import torch" + (check.error() != null ? " (" + check.error() + ")" : tail(check.stderr())));
        }
        log.println("bench: PyTorch peer (" + s.dir().resolve(TORCH_SCRIPT) + ", " + s.threads() + " threads)");
        List<String> cmd = List.of(s.python().toString(), TORCH_SCRIPT, "--blas-dir", s.blasDir().toString(),
                "--threads", Integer.toString(s.threads()));
        return result(om, run(cmd, s.dir(), Map.of("OMP_WAIT_POLICY", "PASSIVE"), s.timeoutSeconds(), work, "torch"));
    }

    /** Why the PyTorch peer cannot run here, or {@code null} when it can be tried. */
    static String torchAbsence(Setup s) {
        if (s.skip() != null) return s.skip();
        if (s.dir() == null || !Files.isRegularFile(s.dir().resolve(TORCH_SCRIPT))) {
            return "no " + TORCH_SCRIPT + " in " + s.dir();
        }
        if (s.python() == null || !Files.isExecutable(s.python())) return "no Python interpreter at " + s.python();
        if (s.blasDir() == null || !Files.isRegularFile(s.blasDir().resolve("libblas.so.3"))) {
            return "no OpenBLAS at " + s.blasDir() + " (run setup-torch-peer.sh once, or set SILORA_PEER_BLAS; the bench installs nothing)";
        }
        return null;
    }

    /** The libtorch (DJL) peer's JSON line, when a built jar is present; otherwise {@code absent}. */
    public static ObjectNode djl(Setup s, Path work, PrintStream log) {
        ObjectMapper om = new ObjectMapper();
        if (s.skip() != null) return absent(om, s.skip());
        Path dir = builtDjl(s);
        if (dir == null) {
            return absent(om, "no built djl-peer/target/djl-peer.jar in " + s.djlDirs() + " (the bench builds nothing)");
        }
        log.println("bench: libtorch (DJL) peer (" + dir + ", " + s.threads() + " threads)");
        return result(om, run(List.of("sh", dir.resolve("run.sh").toString(), "--threads", Integer.toString(s.threads())),
                dir, Map.of(), s.timeoutSeconds(), work, "djl"));
    }

    static Path builtDjl(Setup s) {
        for (Path d : s.djlDirs()) {
            if (Files.isRegularFile(d.resolve("target").resolve("djl-peer.jar")) && Files.isRegularFile(d.resolve("run.sh"))) return d;
        }
        return null;
    }

    /**
     * {@code peer median step ÷ ours}: ≥ 1 means this code's step is faster. {@code null} when the peer gave no
     * positive {@code median_step_s}.
     */
    static Double speedRatio(JsonNode peer, double ourMedianStepSeconds) {
        if (peer == null || !peer.path("median_step_s").isNumber() || ourMedianStepSeconds <= 0) return null;
        double p = peer.get("median_step_s").asDouble();
        return p > 0 ? p / ourMedianStepSeconds : null;
    }

    static ObjectNode absent(ObjectMapper om, String why) {
        ObjectNode o = om.createObjectNode();
        o.put("absent", why);
        return o;
    }

    private record Run(List<String> command, int exit, String stdout, String stderr, double seconds, String error) {
    }

    private static ObjectNode result(ObjectMapper om, Run r) {
        ObjectNode o = om.createObjectNode();
        if (r.error() == null && r.exit() == 0) {
            String last = lastLine(r.stdout());
            try {
                JsonNode j = om.readTree(last);
                if (j instanceof ObjectNode jo) {
                    o.setAll(jo);
                } else {
                    o.put("error", "no JSON object on the last line of its output: " + last);
                }
            } catch (IOException e) {
                o.put("error", "no JSON on the last line of its output: " + last);
            }
        } else {
            o.put("error", r.error() != null ? r.error() : "exit " + r.exit() + tail(r.stderr()));
        }
        o.put("command", String.join(" ", r.command()));
        o.put("wall_s", r.seconds());
        return o;
    }

    /** Runs {@code cmd} with output into files under {@code work/peers}, killed (with its children) after {@code timeout} s. */
    private static Run run(List<String> cmd, Path dir, Map<String, String> env, int timeoutSeconds, Path work, String name) {
        long t0 = System.nanoTime();
        Path out = work.resolve("peers").resolve(name + ".out");
        Path err = work.resolve("peers").resolve(name + ".err");
        try {
            Files.createDirectories(out.getParent());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            if (dir != null) pb.directory(dir.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                return new Run(cmd, -1, read(out), read(err), (System.nanoTime() - t0) / 1e9, "timed out after " + timeoutSeconds + " s");
            }
            return new Run(cmd, p.exitValue(), read(out), read(err), (System.nanoTime() - t0) / 1e9, null);
        } catch (IOException e) {
            return new Run(cmd, -1, "", "", (System.nanoTime() - t0) / 1e9, "cannot run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Run(cmd, -1, "", "", (System.nanoTime() - t0) / 1e9, "interrupted");
        }
    }

    private static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    static String lastLine(String s) {
        String t = s.strip();
        return t.substring(t.lastIndexOf('\n') + 1).strip();
    }

    private static String tail(String stderr) {
        String t = stderr.strip();
        if (t.isEmpty()) return "";
        return ": " + (t.length() > 300 ? "…" + t.substring(t.length() - 300) : t).replace('\n', ' ');
    }
}
