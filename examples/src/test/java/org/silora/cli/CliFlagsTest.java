package org.silora.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The flags of every command stay what users and the README know while the options move into shared mixins: the
 * expected names below were read from the command line before the mixins (main at dfbd585), one line per command.
 */
class CliFlagsTest extends CapturedCli {

    /** Per command, its option names as picocli listed them before the shared option groups (aliases joined by |). */
    private static final Map<String, String> BEFORE_MIXINS = Map.ofEntries(
            Map.entry("demo", "--quick --out --workers -h|--help -V|--version"),
            Map.entry("logits", "--model --adapter --ids --text --max-memory --weights-dtype -h|--help -V|--version"),
            Map.entry("merge", "--model --adapter --out --dtype -h|--help -V|--version"),
            Map.entry("dial", "--model --adapter --importance --strength --uniform --rank --out --dtype -h|--help -V|--version"),
            Map.entry("train-general", "--model --data --out --si-mode --si-recipe --xi --tau --importance --omega-dtype --r --lora-alpha --target-modules --use-rslora --init-lora-weights --epochs --lr --batch-size --grad-accum --seq-len --max-rows --seed --engine --weight-decay --skip-nonfinite --checkpoint-every --resume --max-memory --weights-dtype -h|--help -V|--version"),
            Map.entry("train-domain", "--model --method --adapter --importance --fisher --phi --ewc-lambda --si-recipe --tau --general-budget --general-probe --probe-rows --budget-every --budget-rate --data --out --r --lora-alpha --target-modules --use-rslora --init-lora-weights --epochs --lr --batch-size --grad-accum --seq-len --max-rows --seed --engine --weight-decay --skip-nonfinite --checkpoint-every --resume --max-memory --weights-dtype -h|--help -V|--version"),
            Map.entry("fisher", "--model --data --out --samples --seq-len --batch-size --dtype --max-memory --weights-dtype -h|--help -V|--version"),
            Map.entry("eval", "--model --adapter --task --data --limit --batch-size --add-bos --cop-base --skip-malformed --window --stride --max-memory --weights-dtype -h|--help -V|--version"),
            Map.entry("continual-mnist", "--json --out --epochs --batch --hidden --lr --train-per-task --si-c --ewc-lambda --xi --seed -h|--help -V|--version"),
            Map.entry("bench", "--json --quick --no-scaling --peers --no-peers --profile --scale --scale-models --scale-seq --step-times --warmup --out -h|--help -V|--version"),
            Map.entry("pretrain", "--arch --data --heldout --out --vocab --hidden --layers --heads --kv-heads --intermediate --rotary-dim --seq-len --epochs --lr --batch-size --max-rows --dtype --seed --checkpoint-every --resume -h|--help -V|--version"),
            Map.entry("demo-worker", "--out -h|--help -V|--version"));

    @Test
    void everyCommandHasTheFlagsItHadBeforeTheSharedOptionGroups() {
        Map<String, CommandLine> commands = new CommandLine(new SiloraMain()).getSubcommands();
        assertEquals(new TreeSet<>(BEFORE_MIXINS.keySet()), new TreeSet<>(commands.keySet()), "the commands");
        for (Map.Entry<String, String> e : BEFORE_MIXINS.entrySet()) {
            Set<String> now = new TreeSet<>();
            for (OptionSpec o : commands.get(e.getKey()).getCommandSpec().options()) now.add(String.join("|", o.names()));
            assertEquals(new TreeSet<>(Arrays.asList(e.getValue().split(" "))), now, e.getKey());
        }
    }

    @Test
    void everyFlagShowsInItsCommandsHelpWithoutPicocliWarnings() {
        Map<String, CommandLine> commands = new CommandLine(new SiloraMain()).getSubcommands();
        for (String command : BEFORE_MIXINS.keySet()) {
            assertEquals(0, execute(command, "--help"), command);
            String help = out.toString(StandardCharsets.UTF_8);
            for (OptionSpec o : commands.get(command).getCommandSpec().options()) {
                if (o.hidden()) continue;   // bench's internal --step-times
                for (String flag : o.names()) {
                    if (!help.contains(flag)) throw new AssertionError(command + " --help lacks " + flag + ":\n" + help);
                }
            }
            // a description that picocli cannot format (an unescaped %) is printed raw after a warning on stderr
            assertFalse(err.toString(StandardCharsets.UTF_8).contains("WARN"), command + ": " + err);
        }
    }

    @Test
    void pretrainKeepsItsOwnDefaultsForTheSharedTrainingOptions() {
        PretrainCommand p = new PretrainCommand();
        new CommandLine(p).parseArgs("--arch", "llama", "--data", "d.txt", "--heldout", "h.txt", "--out", "o");
        assertEquals(1, p.train.epochs);
        assertEquals(2e-3, p.train.lr);
        assertEquals(16, p.train.batchSize);
        TrainGeneralCommand g = new TrainGeneralCommand();
        new CommandLine(g).parseArgs("--model", "m", "--data", "d.txt", "--out", "o");
        assertEquals(5, g.train.epochs);
        assertEquals(8e-4, g.train.lr);
        assertEquals(20, g.train.batchSize);
    }
}
