package org.silora.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.bench.Bench;
import org.silora.bench.Peers;
import org.silora.bench.StepProfile;
import org.silora.bench.ThreadSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code silora bench [--json]}: the benchmark suite of SPEC §6. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"The benchmark suite: sgemm peak, LoRA training tokens/s and MFU, SI overhead, importance cost against EWC "
                + "(also at the paper's protocol: 20000 Fisher samples against 2000 documents x 5 epochs, 800 tokens), import speed, "
                + "peak RSS, scaling curves of a LoRA step against sequence length and width, and the PyTorch / libtorch peers' "
                + "step time beside ours when they are installed; prints JSON.",
                "Peers (optional, never installed by the bench): ../shared/peers/peer_torch_lora.py runs when /usr/bin/python3 "
                + "can import torch and the OpenBLAS folder of setup-torch-peer.sh exists ($SILORA_PEER_BLAS, else "
                + "/tmp/silora-peer/openblas-omp/usr/lib/x86_64-linux-gnu/openblas-openmp); the DJL peer when its "
                + "target/djl-peer.jar is built. Otherwise the JSON says 'absent' and why."})
final class BenchCommand implements Callable<Integer> {

    /** Child JVMs for the bench, through the launcher (the bench itself does not depend on the command line). */
    static final org.silora.bench.Jvm JVM = new org.silora.bench.Jvm() {
        @Override
        public ProcessBuilder child(java.util.List<String> args) {
            return SiloraMain.childProcess(args);
        }

        @Override
        public java.util.List<String> command(java.util.List<String> args) {
            return SiloraMain.javaCommand(java.util.List.of(), args);
        }
    };

    @Option(names = "--json", description = "print only the JSON (no table on stderr)")
    boolean json;

    @Option(names = "--quick", description = "smaller measurements (no large model, smaller import checkpoint, no scaling curves, no peers)")
    boolean quick;

    @Option(names = "--no-scaling", description = "skip the scaling curves (sequence length 128..2048 at d512 x 8; width 256..2048 "
            + "at 4 layers; about 2-3 minutes on 2 cores)")
    boolean noScaling;

    @Option(names = "--peers", paramLabel = "DIR", description = "the peers folder (peer_torch_lora.py, djl-peer/); default "
            + "$SILORA_PEERS, else ../shared/peers or shared/peers relative to the working folder")
    Path peers;

    @Option(names = "--no-peers", description = "run no peer (reported absent)")
    boolean noPeers;

    @Option(names = "--profile", description = "instead of the suite: per-op profile of LoRA training steps (where the time goes)")
    boolean profile;

    @Option(names = "--scale", description = "instead of the suite: real commands on random checkpoints of public configs "
            + "(LLaMA-3.2-1B and 3B, GPT-J-6B; several GB each, written once into --out): peak RSS, memory plan, load and step time")
    boolean scale;

    @Option(names = "--scale-models", split = ",", paramLabel = "NAME", description = "with --scale: the configurations "
            + "(default llama-3.2-1b,llama-3.2-3b,gpt-j-6b; also llama-3-8b)")
    java.util.List<String> scaleModels;

    @Option(names = "--scale-seq", split = ",", paramLabel = "N", description = "with --scale: sequence lengths of the "
            + "step-time sweep on the first LLaMA (default 128,256,512,1024,2048; 0: none)")
    java.util.List<Integer> scaleSeq;

    @Option(names = "--step-times", hidden = true, description = "only the LoRA step times under this JVM's thread settings (used by the suite's child JVMs)")
    boolean stepTimes;

    @Option(names = "--warmup", paramLabel = "N", description = "with --profile: untimed steps before timing (default 3 with --quick, 5 otherwise)")
    Integer warmup;

    @Option(names = "--out", defaultValue = "silora-out/bench", paramLabel = "DIR", description = "work folder (default ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (stepTimes) {
            SiloraMain.json().println(new ObjectMapper().writeValueAsString(ThreadSettings.stepTimes(preset(), out, !quick)));
            return 0;
        }
        if (scale) {
            org.silora.bench.ScaleBench.Options d = org.silora.bench.ScaleBench.Options.standard();
            java.util.List<Integer> seq = scaleSeq == null ? d.sweep() : scaleSeq.stream().filter(n -> n > 0).toList();
            ObjectNode r = org.silora.bench.ScaleBench.run(new org.silora.bench.ScaleBench.Options(
                    scaleModels == null ? d.models() : scaleModels, seq, d.rows()), out, System.err, JVM);
            if (!json) System.err.print(org.silora.bench.ScaleBench.table(r));
            SiloraMain.json().println(new ObjectMapper().writeValueAsString(r));
            return 0;
        }
        if (profile) {
            Bench.Options o = warmup == null ? preset() : preset().toBuilder().warmup(warmup).build();
            ObjectNode p = StepProfile.run(o, out, System.err);
            SiloraMain.json().println(new ObjectMapper().writeValueAsString(p));
            return 0;
        }
        Bench.Options.Builder o = preset().toBuilder();
        if (noScaling) o.scaling(false);
        if (noPeers) o.peers(Peers.Setup.none("--no-peers"));
        else if (peers != null && !quick) o.peers(Peers.Setup.defaults(peers.toAbsolutePath().normalize()));
        ObjectNode r = Bench.run(o.build(), out, System.err, JVM);
        if (!json) System.err.print(Bench.table(r));
        SiloraMain.json().println(new ObjectMapper().writeValueAsString(r));
        return 0;
    }

    private Bench.Options preset() {
        return quick ? Bench.Options.quick() : Bench.Options.standard();
    }
}
