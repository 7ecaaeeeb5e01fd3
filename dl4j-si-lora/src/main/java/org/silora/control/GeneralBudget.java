package org.silora.control;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.silora.lora.Checkpointable;
import org.silora.lora.LoraModel;
import org.silora.lora.LoraModule;
import org.silora.lora.LoraTrainer;
import org.silora.lora.Penalty;
import org.silora.lora.StepListener;
import org.silora.si.QuadraticPenalty;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A general-ability budget instead of a fixed coefficient: during phase μ it keeps the rise of the per-token loss on
 * held-out general text, Δ = L_probe(θ) − L_probe(W0), at or below a budget D by adapting the penalty's coefficient c
 * (SI's φ or EWC's λ). Every {@code every} optimizer steps it measures Δ on the probe rows and takes a dual-ascent step
 * on the constraint Δ ≤ D in log space,
 * <pre>    c ← clamp(c · exp(κ · (Δ − D)), cMin, cMax)</pre>
 * (multiplicative, because useful coefficients span orders of magnitude and c must stay positive; κ in 1/nat, default
 * 10: 0.1 nat over the budget multiplies c by e): c grows while the
 * budget is exceeded and decays while there is room, so the trainer learns as much of the domain as the budget allows.
 * It is the trainer's {@link Penalty} (the quadratic penalty at the current c) and a {@link StepListener} (the
 * measurement after the update); its c and trajectory belong in a training checkpoint.
 *
 * <pre>{@code
 * GeneralBudget budget = GeneralBudget.builder(QuadraticPenalty.si(model, importance, 1e-3))
 *         .budget(0.05).every(10).probe(probeRows).build(model);
 * trainer.setPenalty(budget);
 * trainer.addListener(budget);
 * trainer.train(rows, null);
 * budget.trajectory().forEach(p -> System.out.println(p.step() + " " + p.deltaLoss() + " " + p.coefficient()));
 * }</pre>
 */
public final class GeneralBudget implements Penalty, StepListener, Checkpointable {

    /** One measurement: after optimizer step {@code step} (1-based count of steps done), Δ loss and the c then set. */
    public record Point(int step, double deltaLoss, double coefficient) {
    }

    private final QuadraticPenalty template;
    private final LoraModel model;
    private final List<int[]> probe;
    private final int batchSize;
    private final double budget;
    private final int every;
    private final double rate;
    private final double minCoefficient;
    private final double maxCoefficient;
    private final double baseLoss;
    private final List<Point> trajectory = new ArrayList<>();
    private QuadraticPenalty current;

    private GeneralBudget(Builder b, LoraModel model, double baseLoss) {
        this.template = b.penalty;
        this.model = model;
        this.probe = List.copyOf(b.probe);
        this.batchSize = b.batchSize;
        this.budget = b.budget;
        this.every = b.every;
        this.rate = b.rate;
        this.minCoefficient = b.minCoefficient;
        this.maxCoefficient = b.maxCoefficient;
        this.baseLoss = baseLoss;
        this.current = b.penalty;
    }

    /** A controller starting from {@code penalty} at its own coefficient (which must be &gt; 0). */
    public static Builder builder(QuadraticPenalty penalty) {
        return new Builder(penalty);
    }

    /** Settings; {@link #build(LoraModel)} validates them and measures the base model's probe loss. */
    public static final class Builder {
        private final QuadraticPenalty penalty;
        private double budget = Double.NaN;
        private List<int[]> probe;
        private int every = 10;
        private double rate = 10.0;
        private int batchSize = 8;
        private double minCoefficient = 0;
        private double maxCoefficient = 0;
        private Double baseLoss;

        private Builder(QuadraticPenalty penalty) {
            this.penalty = penalty;
        }

        /**
         * D: the largest allowed rise of per-token general loss against the base model, in nats (usually ≥ 0; a
         * negative D asks to stay that much better than the base, e.g. keep part of what phase ν gained).
         */
        public Builder budget(double d) {
            this.budget = d;
            return this;
        }

        /** Held-out general rows (token ids), disjoint from what the report evaluates on. */
        public Builder probe(List<int[]> rows) {
            this.probe = rows;
            return this;
        }

        /** K: measure and adapt every K optimizer steps (default 10). */
        public Builder every(int k) {
            this.every = k;
            return this;
        }

        /** κ: the log-space step size in 1/nat (default 10: c changes by a factor e per 0.1 nat off the budget). */
        public Builder rate(double kappa) {
            this.rate = kappa;
            return this;
        }

        /** Rows per probe forward pass (default 8). */
        public Builder batchSize(int n) {
            this.batchSize = n;
            return this;
        }

        /** Bounds of c (default: 10⁻⁶ to 10⁶ times the starting coefficient). */
        public Builder bounds(double min, double max) {
            this.minCoefficient = min;
            this.maxCoefficient = max;
            return this;
        }

        /** The base model's probe loss when already known (otherwise measured by {@link #build}). */
        public Builder baseLoss(double loss) {
            this.baseLoss = loss;
            return this;
        }

        /**
         * The controller for {@code model} (whose adapter the trainer trains). Without {@link #baseLoss} the base
         * model's probe loss is measured here with every adapter's delta set to zero for the measurement (B = 0 gives
         * W0 exactly), then restored.
         */
        public GeneralBudget build(LoraModel model) {
            if (!Double.isFinite(budget)) throw new IllegalArgumentException("--general-budget must be a finite number (nats of general loss), got " + budget);
            if (probe == null || probe.isEmpty()) throw new IllegalArgumentException("a general budget needs probe rows (--general-probe FILE)");
            if (every < 1) throw new IllegalArgumentException("--budget-every must be >= 1, got " + every);
            if (!(rate > 0) || Double.isInfinite(rate)) throw new IllegalArgumentException("--budget-rate must be > 0, got " + rate);
            if (batchSize < 1) throw new IllegalArgumentException("probe batch size must be >= 1, got " + batchSize);
            double c0 = penalty.coefficient();
            if (!(c0 > 0)) throw new IllegalArgumentException("a general budget adapts the penalty coefficient multiplicatively: start it above 0 (got " + c0 + ")");
            if (minCoefficient == 0 && maxCoefficient == 0) {
                minCoefficient = c0 * 1e-6;
                maxCoefficient = c0 * 1e6;
            }
            if (!(minCoefficient > 0) || !(maxCoefficient >= minCoefficient) || Double.isInfinite(maxCoefficient)) {
                throw new IllegalArgumentException("coefficient bounds must satisfy 0 < min <= max, got " + minCoefficient + ", " + maxCoefficient);
            }
            double base = baseLoss != null ? baseLoss : baseModelLoss(model, probe, batchSize);
            return new GeneralBudget(this, model, base);
        }
    }

    /** The probe loss of the base model under {@code model}: every B set to 0 for the measurement, then restored. */
    static double baseModelLoss(LoraModel model, List<int[]> probe, int batchSize) {
        List<INDArray> saved = new ArrayList<>();
        for (LoraModule m : model.modules().values()) {
            saved.add(m.b().getArr().dup());
            m.b().getArr().assign(0);
        }
        try {
            return LoraTrainer.meanLoss(model, probe, batchSize);
        } finally {
            int i = 0;
            for (LoraModule m : model.modules().values()) m.b().getArr().assign(saved.get(i++));
        }
    }

    /** Δ = L_probe(current parameters) − L_probe(W0), measured now. */
    public double measureDeltaLoss() {
        return LoraTrainer.meanLoss(model, probe, batchSize) - baseLoss;
    }

    /** The base model's probe loss. */
    public double baseLoss() {
        return baseLoss;
    }

    /** D. */
    public double budget() {
        return budget;
    }

    /** The coefficient in force now. */
    public double coefficient() {
        return current.coefficient();
    }

    /** Every measurement so far, in order. */
    public List<Point> trajectory() {
        return Collections.unmodifiableList(trajectory);
    }

    /** The adaptation rule alone: the next coefficient after measuring {@code deltaLoss} at coefficient {@code c}. */
    double next(double c, double deltaLoss) {
        double proposed = c * Math.exp(rate * (deltaLoss - budget));
        return Math.max(minCoefficient, Math.min(maxCoefficient, proposed));
    }

    @Override
    public double value() {
        return current.value();
    }

    @Override
    public double addGradients(Map<String, INDArray> grads) {
        return current.addGradients(grads);
    }

    @Override
    public void afterStep(StepContext ctx) {
        int done = ctx.step() + 1;
        if (done % every != 0) return;
        double delta = measureDeltaLoss();
        double c = (float) next(current.coefficient(), delta);   // float-exact, so that a checkpoint (F32) resumes it exactly
        current = template.withCoefficient(c);
        trajectory.add(new Point(done, (float) delta, c));
    }

    @Override
    public String checkpointName() {
        return "general_budget";
    }

    @Override
    public Map<String, INDArray> checkpointState() {
        INDArray t = Nd4j.create(DataType.DOUBLE, Math.max(1, trajectory.size()), 3);
        for (int i = 0; i < trajectory.size(); i++) {
            Point p = trajectory.get(i);
            t.putScalar(i, 0, p.step());
            t.putScalar(i, 1, p.deltaLoss());
            t.putScalar(i, 2, p.coefficient());
        }
        return Map.of("coefficient", Nd4j.scalar(DataType.DOUBLE, current.coefficient()),
                "points", Nd4j.scalar(DataType.DOUBLE, trajectory.size()), "trajectory", t);
    }

    @Override
    public void restoreCheckpointState(Map<String, INDArray> state) {
        current = template.withCoefficient(state.get("coefficient").getDouble(0));
        trajectory.clear();
        int n = (int) state.get("points").getDouble(0);
        INDArray t = state.get("trajectory");
        for (int i = 0; i < n; i++) trajectory.add(new Point((int) t.getDouble(i, 0), t.getDouble(i, 1), t.getDouble(i, 2)));
    }
}
