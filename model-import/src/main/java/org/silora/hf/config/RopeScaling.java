package org.silora.hf.config;

/**
 * {@code rope_scaling} of a LLaMA config: none ({@code default}), {@code linear} (positions divided by
 * {@code factor}) or {@code llama3} (frequency-dependent scaling of Llama 3.1/3.2).
 *
 * @param type                          the kind of scaling
 * @param factor                        scaling factor, &ge; 1 for linear and llama3
 * @param lowFreqFactor                 llama3 only
 * @param highFreqFactor                llama3 only
 * @param originalMaxPositionEmbeddings llama3 only
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositionEmbeddings) {

    /** The rope scaling kinds this importer implements. */
    public enum Type { DEFAULT, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Type.DEFAULT, 1.0, 0, 0, 0);

    public RopeScaling {
        if (type == null) throw new IllegalArgumentException("rope_scaling type is missing");
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("rope_scaling factor must be positive, got " + factor);
        }
        if (type == Type.LLAMA3) {
            if (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor)) {
                throw new IllegalArgumentException("rope_scaling llama3 needs 0 < low_freq_factor < high_freq_factor, got "
                        + lowFreqFactor + " and " + highFreqFactor);
            }
            if (originalMaxPositionEmbeddings <= 0) {
                throw new IllegalArgumentException("rope_scaling llama3 needs original_max_position_embeddings > 0");
            }
        }
    }

    /**
     * Applies this scaling to the default inverse frequencies {@code 1/theta^(2i/dim)}, exactly as Hugging Face's
     * {@code _compute_llama3_parameters} / {@code _compute_linear_scaling_rope_parameters} do.
     */
    public double[] scale(double[] invFreq) {
        double[] out = invFreq.clone();
        switch (type) {
            case DEFAULT -> { }
            case LINEAR -> {
                for (int i = 0; i < out.length; i++) out[i] = invFreq[i] / factor;
            }
            case LLAMA3 -> {
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < out.length; i++) {
                    double wavelen = 2 * Math.PI / invFreq[i];
                    double f = wavelen > lowFreqWavelen ? invFreq[i] / factor : invFreq[i];
                    boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
                    if (medium) {
                        double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor);
                        f = (1 - smooth) * f / factor + smooth * f;
                    }
                    out[i] = f;
                }
            }
        }
        return out;
    }
}
