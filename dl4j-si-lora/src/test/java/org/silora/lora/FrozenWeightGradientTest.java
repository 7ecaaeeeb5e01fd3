package org.silora.lora;

import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.RopeScaling;
import org.silora.hf.graph.LinearModule;
import org.silora.hf.graph.Weights;
import org.silora.hf.testing.TinyModels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A training step computes no gradient of a frozen weight: no op of the backward pass produces an array shaped like
 * a frozen weight, and no matmul backward runs with a constant operand. (The widths below differ from each other and
 * from the token count, so a weight-shaped array cannot be an activation.) The gradients that are computed still
 * match finite differences ({@link LoraGradientTest}).
 */
class FrozenWeightGradientTest {

    /** Records every op the gradient pass runs: its name, type, inputs and output shapes. */
    private static final class Recorder extends BaseListener {
        final List<String> opTypes = new ArrayList<>();
        final List<long[]> outputShapes = new ArrayList<>();
        final List<String> constantMatmulBackward = new ArrayList<>();

        @Override
        public boolean isActive(Operation operation) {
            return true;
        }

        @Override
        public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
            String type = op.getOp().opName();
            opTypes.add(type);
            if (type.equals("matmul_bp") || type.equals("tensormmul_bp")) {
                for (String in : op.getInputsToOp()) {
                    if (sd.getVariable(in).getVariableType() == VariableType.CONSTANT) constantMatmulBackward.add(op.getName() + " <- " + in);
                }
            }
        }

        @Override
        public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext, INDArray[] outputs) {
            for (INDArray o : outputs) if (o != null) outputShapes.add(o.shape());
        }
    }

    @Test
    void noBackwardOpTouchesAFrozenWeight() {
        // hidden 40, heads 4 x 12 = 48, kv 2 x 12 = 24, intermediate 56, vocab 71; 3 rows of 9 tokens = 27 positions
        List<ModelConfig> configs = List.of(
                new LlamaConfig(71, 40, 56, 2, 4, 2, 12, 1e-5, 10000.0, RopeScaling.NONE, 64, false, false, false),
                new LlamaConfig(71, 40, 56, 2, 4, 2, 12, 1e-5, 10000.0, RopeScaling.NONE, 64, true, true, true),
                new GptjConfig(71, 48, 88, 2, 4, 8, 1e-5, 64, false));
        for (ModelConfig cfg : configs) {
            LoraModel model = LoraModel.create(cfg, Weights.of(TinyModels.randomWeights(cfg, 2)),
                    LoraConfig.builder().r(3).targetModulesRegex(".*(q_proj|v_proj|down_proj|fc_out)").build(), 1);
            LoraTrainer trainer = new LoraTrainer(model, TrainingOptions.builder().batchSize(3).engine(TrainingOptions.Engine.SAMEDIFF).build());
            Set<List<Long>> frozen = new HashSet<>();
            for (LinearModule m : model.lm().graph().linears().values()) {
                frozen.add(List.of((long) m.in(), (long) m.out()));
                frozen.add(List.of((long) m.out(), (long) m.in()));
            }
            Random rnd = new Random(3);
            List<int[]> rows = new ArrayList<>();
            for (int i = 0; i < 3; i++) rows.add(TinyModels.randomIds(rnd, cfg.vocabSize(), 10));
            Recorder rec = new Recorder();
            model.sameDiff().addListeners(rec);
            trainer.step(List.of(new TokenBatch(rows)));
            model.sameDiff().setListeners();

            assertTrue(rec.opTypes.contains("xw_plus_b"), "frozen modules run as xw_plus_b: " + new HashSet<>(rec.opTypes));
            assertTrue(rec.opTypes.contains("matmul_bp"), "the LoRA factors' matmuls are differentiated");
            assertEquals(List.of(), rec.constantMatmulBackward, cfg.architecture() + ": matmul backward with a frozen operand");
            for (long[] s : rec.outputShapes) {
                List<Long> shape = Arrays.stream(s).boxed().toList();
                assertTrue(!frozen.contains(shape), cfg.architecture() + ": an op produced a weight-shaped array " + shape);
            }
            for (LoraModule m : model.modules().values()) {
                assertEquals(DataType.FLOAT, m.a().getArr().dataType());
            }
            model.lm().close();
        }
    }
}
