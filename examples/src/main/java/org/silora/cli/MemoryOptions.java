package org.silora.cli;

import org.nd4j.linalg.api.buffer.DataType;
import org.silora.hf.safetensors.DType;
import org.silora.hf.safetensors.SafetensorsCheckpoint;
import org.silora.memory.MachineMemory;
import org.silora.memory.MemoryPlan;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Function;

/**
 * How much memory a run may use and how the base weights are held; every command that loads a model plans its peak
 * before loading and refuses, with one line, a run that would not fit. The plan is printed on stderr once the model
 * has loaded ({@link #report()}), so that bad input still ends with one line.
 */
final class MemoryOptions {

    @Option(names = "--max-memory", paramLabel = "SIZE",
            description = "memory the run may use, e.g. 16g (default: the machine's memory less 5 %%, at least 1 GiB)")
    String maxMemory;

    @Option(names = "--weights-dtype", defaultValue = "auto", paramLabel = "TYPE",
            description = "base weights in memory: auto, f32, bf16 or f16 (default ${DEFAULT-VALUE}: f32 when the run fits, "
                    + "else the checkpoint's own 16-bit type, widened per module at use; training keeps f32)")
    String weightsDtype;

    private final java.util.List<String> pending = new java.util.ArrayList<>();

    /** Prints the plan (and how the weights are held) on stderr; call it when the model has loaded. */
    void report() {
        pending.forEach(System.err::println);
        pending.clear();
    }

    /** The budget: {@code --max-memory}, or the machine's memory less what the system keeps. */
    long budget() {
        return budget(maxMemory);
    }

    /** The budget a {@code --max-memory} value (null: not given) stands for. */
    static long budget(String maxMemory) {
        return maxMemory == null ? MachineMemory.defaultBudget() : MachineMemory.parseSize(maxMemory);
    }

    /** The asked storage type, or {@code null} for auto. */
    DataType requested() {
        return switch (weightsDtype.toLowerCase(Locale.ROOT)) {
            case "auto" -> null;
            case "f32", "float32" -> DataType.FLOAT;
            case "bf16", "bfloat16" -> DataType.BFLOAT16;
            case "f16", "float16" -> DataType.HALF;
            default -> throw new IllegalArgumentException("--weights-dtype must be auto, f32, bf16 or f16, got " + weightsDtype);
        };
    }

    /**
     * The storage of a forward-only run (logits, eval): as asked, or with auto FLOAT when its plan fits and the
     * checkpoint's own 16-bit type when only that fits (widening it is exact). Prints the plan on stderr; refuses a
     * run that does not fit.
     */
    DataType inference(String command, Path model, Function<DataType, MemoryPlan> plan) {
        DataType asked = requested();
        if (asked != null) {
            MemoryPlan p = plan.apply(asked);
            pending.add(p.summary());
            p.require(asked == DataType.FLOAT ? "hold the weights in 16 bits (--weights-dtype bf16 or f16), or lower --batch-size or the sequence length"
                    : "lower --batch-size or the sequence length");
            return asked;
        }
        MemoryPlan f32 = plan.apply(DataType.FLOAT);
        if (f32.fits()) {
            pending.add(f32.summary());
            return DataType.FLOAT;
        }
        DType stored = checkpointDtype(model);
        if (stored == DType.F32) {
            pending.add(f32.summary());
            f32.require("the checkpoint is float32; hold it in 16 bits with --weights-dtype bf16 (rounds each weight), "
                    + "or lower --batch-size or the sequence length");
        }
        DataType half = stored == DType.F16 ? DataType.HALF : DataType.BFLOAT16;
        MemoryPlan p = plan.apply(half);
        pending.add(command + ": float32 weights would need " + MemoryPlan.gb(f32.total()) + " of "
                + MemoryPlan.gb(f32.budget()) + "; holding them as " + stored + " like the checkpoint, widened per module at use");
        pending.add(p.summary());
        p.require("lower --batch-size or the sequence length");
        return half;
    }

    /** Training keeps FLOAT weights: checks the option, prints the plan, refuses a run that does not fit. */
    void training(MemoryPlan plan) {
        DataType asked = requested();
        if (asked != null && asked != DataType.FLOAT) {
            throw new IllegalArgumentException("--weights-dtype " + weightsDtype + ": training keeps the base weights in "
                    + "float32 (their widened copies would all live until the backward pass); 16-bit weights are for logits and eval");
        }
        pending.add(plan.summary());
        // when the float32 weights alone exceed the budget no batch shape helps: say so instead of a way out that fails
        plan.require(plan.bytes("weights") + plan.bytes("runtime") >= plan.budget()
                ? "its float32 weights alone do not fit (training keeps them in float32): use a machine with more memory or a smaller model"
                : "lower --batch-size or --seq-len (--grad-accum keeps the effective batch)");
    }

    /** The element type most of the checkpoint's bytes are in. */
    static DType checkpointDtype(Path model) {
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(model)) {
            return ck.dominantDtype();
        }
    }
}
