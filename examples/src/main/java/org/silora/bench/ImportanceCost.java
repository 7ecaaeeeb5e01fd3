package org.silora.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.ewc.FisherEstimator;
import org.silora.ewc.FisherInformation;
import org.silora.hf.safetensors.DType;
import org.silora.lora.LoraConfig;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraTrainer;
import org.silora.lora.TokenBatch;
import org.silora.lora.TrainingOptions;
import org.silora.si.Importance;
import org.silora.si.LayerWeighting;
import org.silora.si.SiRecorder;

import java.util.List;
import java.util.Map;

/**
 * {@code importance}: what EWC's Fisher costs against SI's ν phase over the same samples on the same model, in time
 * ({@code importance_speedup}) and storage ({@code importance_storage_ratio}). EWC's Fisher is timed as its reference
 * implementations compute it (one backward pass per sample) and as {@code silora fisher} does (per-sample gradients
 * from batched passes); ν is one epoch of LoRA training with SI recording, then consolidation.
 *
 * <pre>{@code
 * ImportanceCost c = ImportanceCost.measure(Subject.tiny(work), opt);
 * double speedup = c.speedup();   // fisher_seconds / si_nu_seconds
 * }</pre>
 *
 * @param samples              samples both sides went over
 * @param batch                rows per step of the batched Fisher and of ν
 * @param fisherSeconds        EWC's Fisher, one backward pass per sample
 * @param fisherBatchedSeconds the same Fisher from batched passes
 * @param siSeconds            ν training with SI recording and consolidation
 * @param fisherBytes          the Fisher's values in F32 (every linear weight but lm_head)
 * @param omegaBytesF32        Ω in F32 (the LoRA targets' weights)
 * @param omegaBytesF16        Ω in F16
 */
record ImportanceCost(int samples, int batch, double fisherSeconds, double fisherBatchedSeconds, double siSeconds,
                      long fisherBytes, long omegaBytesF32, long omegaBytesF16) {

    /** Fisher samples timed at 800 tokens: enough for a per-sample cost, few enough for about 30 s. */
    static final int FISHER_SAMPLES_AT_800 = 8;

    static ImportanceCost measure(Subject subject, Bench.Options opt) {
        List<int[]> rows = subject.rows(opt.samples(), opt.seqLen(), 3);
        double fisherSeconds;
        double fisherBatchedSeconds;
        FisherInformation fisher;
        try (FisherEstimator fe = FisherEstimator.of(subject.dir())) {
            fe.compute(rows.subList(0, Math.min(4, rows.size())), 1, (d, t) -> { });   // warm-up
            long t0 = System.nanoTime();
            fisher = fe.compute(rows, 1, (d, t) -> { });
            fisherSeconds = (System.nanoTime() - t0) / 1e9;
            fe.compute(rows.subList(0, Math.min(opt.batch(), rows.size())), opt.batch(), (d, t) -> { });   // warm-up
            long t1 = System.nanoTime();
            fe.compute(rows, opt.batch(), (d, t) -> { });
            fisherBatchedSeconds = (System.nanoTime() - t1) / 1e9;
        }
        LoraModel m = LoraModel.create(subject.dir(), LoraConfig.builder().build(), 1);
        try {
            LoraTrainer nu = new LoraTrainer(m, TrainingOptions.builder().batchSize(opt.batch()).epochs(1).build());
            SiRecorder rec = SiRecorder.builder(m).build();
            nu.addListener(rec);
            nu.step(List.of(new TokenBatch(rows.subList(0, opt.batch()))));   // warm-up
            long t0 = System.nanoTime();
            nu.train(rows, LoraTrainer.Progress.NONE);
            Importance omega = rec.consolidate(LayerWeighting.AUTO, Map.of());
            double siSeconds = (System.nanoTime() - t0) / 1e9;
            return new ImportanceCost(rows.size(), opt.batch(), fisherSeconds, fisherBatchedSeconds, siSeconds,
                    fisher.valueBytes(DType.F32), omega.omegaBytes(DType.F32), omega.omegaBytes(DType.F16));
        } finally {
            m.lm().close();
        }
    }

    /**
     * Per-sample costs at the paper's 800 tokens on the same model: EWC's Fisher, one backward per sample
     * ({@value #FISHER_SAMPLES_AT_800} samples after 2 warm-up ones), and ν training with SI recording at the bench's
     * batch (2 steps after one warm-up step, then consolidation, as {@code si_nu_seconds} is timed).
     */
    static PaperProtocol.Measured measureAt800(Subject subject, Bench.Options opt) {
        int nFisher = FISHER_SAMPLES_AT_800;
        int nSi = 2 * opt.batch();
        List<int[]> rows = subject.rows(nFisher + 2, PaperProtocol.PAPER_TOKENS, 13);
        double fisherSeconds;
        try (FisherEstimator fe = FisherEstimator.of(subject.dir())) {
            fe.compute(rows.subList(nFisher, nFisher + 2), 1, (d, t) -> { });   // warm-up
            long t0 = System.nanoTime();
            fe.compute(rows.subList(0, nFisher), 1, (d, t) -> { });
            fisherSeconds = (System.nanoTime() - t0) / 1e9;
        }
        List<int[]> siRows = subject.rows(nSi + opt.batch(), PaperProtocol.PAPER_TOKENS, 17);
        LoraModel m = LoraModel.create(subject.dir(), LoraConfig.builder().build(), 1);
        try {
            LoraTrainer nu = new LoraTrainer(m, TrainingOptions.builder().batchSize(opt.batch()).epochs(1).build());
            SiRecorder rec = SiRecorder.builder(m).build();
            nu.addListener(rec);
            nu.step(List.of(new TokenBatch(siRows.subList(nSi, nSi + opt.batch()))));   // warm-up
            long t0 = System.nanoTime();
            nu.train(siRows.subList(0, nSi), LoraTrainer.Progress.NONE);
            rec.consolidate(LayerWeighting.AUTO, Map.of());
            double siSeconds = (System.nanoTime() - t0) / 1e9;
            return new PaperProtocol.Measured(nFisher, fisherSeconds, nSi, siSeconds);
        } finally {
            m.lm().close();
        }
    }

    /** {@code importance_speedup}: EWC's per-sample Fisher ÷ ν with SI. */
    double speedup() {
        return fisherSeconds / siSeconds;
    }

    /** {@code importance_speedup_batched}: the batched Fisher ÷ ν with SI. */
    double speedupBatched() {
        return fisherBatchedSeconds / siSeconds;
    }

    /** {@code importance_storage_ratio}: Ω ÷ Fisher, both F32. */
    double storageRatio() {
        return (double) omegaBytesF32 / fisherBytes;
    }

    /** {@code importance_storage_ratio_f16}: Ω in F16 ÷ the Fisher in F32. */
    double storageRatioF16() {
        return (double) omegaBytesF16 / fisherBytes;
    }

    /** The {@code importance} object. */
    ObjectNode json(ObjectMapper om) {
        ObjectNode o = om.createObjectNode();
        o.put("samples", samples);
        o.put("fisher_seconds", fisherSeconds);
        o.put("fisher_method", "one backward pass per sample (EWC reference implementations)");
        o.put("fisher_batched_seconds", fisherBatchedSeconds);
        o.put("fisher_batched_method", "per-sample gradients as delta_s^T x_s from batched passes of " + batch);
        o.put("si_nu_seconds", siSeconds);
        o.put("si_nu_batch", batch);
        o.put("fisher_bytes", fisherBytes);
        o.put("omega_bytes_f32", omegaBytesF32);
        o.put("omega_bytes_f16", omegaBytesF16);
        return o;
    }
}
