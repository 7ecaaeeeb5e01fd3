package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.graph.LinearModule;
import org.silora.lora.LoraModel;
import org.silora.lora.TrainingOptions;

import java.io.PrintStream;

/**
 * One {@code train[]} row: LoRA training tokens/s and MFU of a subject at the bench's step shape, and, when the
 * trainer picks the direct engine, the same step through SameDiff's gradient pass beside it
 * ({@code speedup_vs_samediff}).
 *
 * <pre>{@code
 * ObjectNode row = TrainThroughput.measure(om, Subject.large(), opt, gemm.peak(), System.err);
 * double mfu = row.get("mfu").asDouble();
 * }</pre>
 */
final class TrainThroughput {

    private TrainThroughput() {
    }

    /**
     * {@code model}, {@code engine}, {@code parameters} (the embedding and every linear weight but lm_head),
     * {@code tokens_per_step}, {@code step} (min/median/n), {@code train_tokens_per_s}, {@code model_gflop_per_step}
     * ({@link #loraStepFlops}), {@code mfu} against {@code peakGflops}; with the direct engine also
     * {@code samediff_step} and {@code speedup_vs_samediff} (SameDiff's median ÷ the direct one's).
     */
    static ObjectNode measure(ObjectMapper om, Subject subject, Bench.Options opt, double peakGflops, PrintStream log) {
        log.println("bench: LoRA training, " + subject.name());
        ObjectNode o = om.createObjectNode();
        double median;
        try (Rig rig = Rig.of(subject, opt.batch(), opt.seqLen(), 7)) {
            LoraModel m = rig.model();
            Stat s = Stat.time(opt.warmup(), opt.repeats(), rig::step);
            median = s.median();
            long tokens = rig.batch().predictedTokens();
            double flops = loraStepFlops(m, opt.batch(), opt.seqLen());
            o.put("model", subject.name());
            o.put("engine", rig.trainer().engineName());
            o.put("parameters", m.lm().config().vocabSize() * (long) subject.config().hiddenSize() + m.lm().graph().linears().values().stream()
                    .filter(l -> !l.name().equals("lm_head")).mapToLong(l -> (long) l.in() * l.out()).sum());
            o.put("tokens_per_step", tokens);
            o.set("step", s.json(om));
            o.put("train_tokens_per_s", tokens / s.median());
            o.put("model_gflop_per_step", flops / 1e9);
            o.put("mfu", flops / s.median() / (peakGflops * 1e9));
        }
        if ("direct".equals(o.get("engine").asText())) {
            // the same step through SameDiff's gradient pass, side by side (fewer repeats: it is the slower one)
            log.println("bench: LoRA training through SameDiff, " + subject.name());
            try (Rig rig = Rig.of(subject, opt.batch(), opt.seqLen(), 7, TrainingOptions.Engine.SAMEDIFF)) {
                Stat s = Stat.time(Math.max(2, opt.warmup() / 4), Math.max(3, opt.repeats() / 2), rig::step);
                o.set("samediff_step", s.json(om));
                o.put("speedup_vs_samediff", s.median() / median);
            }
        }
        return o;
    }

    /**
     * Model FLOPs of one LoRA step: the forward pass (2·tokens·in·out per linear module, the LoRA path, attention's
     * two T×T products) plus the backward that training the factors needs (activation gradients through every
     * matmul, the factors' own gradients; no gradients of frozen weights).
     */
    static double loraStepFlops(LoraModel m, int batch, int seq) {
        double n = (double) batch * seq;
        double fwd = 0;
        for (LinearModule l : m.lm().graph().linears().values()) fwd += 2 * n * l.in() * l.out();
        int r = m.config().r();
        double lora = 0;
        for (var mod : m.modules().values()) lora += 2 * n * r * (mod.base().in() + mod.base().out());
        ModelConfig c = m.lm().config();
        double attn = 2.0 * 2 * batch * c.numHeads() * (double) seq * seq * c.headDim() * c.numLayers();
        // backward: activation gradients = one more matmul per forward matmul; attention needs both operands' gradients;
        // LoRA factors: activation and weight gradients
        return (fwd + attn + lora) + (fwd + 2 * attn + 2 * lora);
    }
}
