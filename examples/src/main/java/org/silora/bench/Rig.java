package org.silora.bench;

import org.silora.hf.graph.Weights;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;

import java.util.List;

/**
 * A fresh LoRA model of a subject (peft defaults: r 8 on q/v), its trainer and one synthetic batch of
 * {@code rows × (tokens + 1)} tokens to step on, so each step predicts {@code rows × tokens} tokens.
 *
 * <pre>{@code
 * try (Rig rig = Rig.of(subject, 8, 128, 7)) {
 *     Stat s = Stat.time(warmup, repeats, rig::step);
 * }
 * }</pre>
 */
record Rig(LoraModel model, LoraTrainer trainer, TokenBatch batch) implements AutoCloseable {

    static Rig of(Subject s, int rows, int tokens, long dataSeed) {
        return of(s, rows, tokens, dataSeed, TrainingOptions.Engine.AUTO);
    }

    static Rig of(Subject s, int rows, int tokens, long dataSeed, TrainingOptions.Engine engine) {
        LoraConfig lc = LoraConfig.builder().build();
        LoraModel m = s.dir() != null ? LoraModel.create(s.dir(), lc, 1) : LoraModel.create(s.config(), Weights.of(s.weights()), lc, 1);
        LoraTrainer t = new LoraTrainer(m, TrainingOptions.builder().batchSize(rows).engine(engine).build());
        return new Rig(m, t, new TokenBatch(s.rows(rows, tokens + 1, dataSeed)));
    }

    /** One training step on the batch; the trainer's per-row losses. */
    double[] step() {
        return trainer.step(List.of(batch));
    }

    @Override
    public void close() {
        model.lm().close();
    }
}
