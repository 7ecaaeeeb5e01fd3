package org.silora.hf.testing;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.silora.hf.config.GptjConfig;
import org.silora.hf.config.LlamaConfig;
import org.silora.hf.config.ModelConfig;
import org.silora.hf.config.RopeScaling;

import java.util.Map;

/**
 * An independent plain-Java (double precision) forward pass of LLaMA and GPT-J, written line by line after
 * Hugging Face's {@code modeling_llama.py} and {@code modeling_gptj.py}: explicit loops, {@code rotate_half},
 * {@code repeat_kv}, {@code rotate_every_two} with {@code repeat_interleave}, its own rope frequencies and llama3
 * scaling. It shares no code with the graph builders, so agreement is evidence, not tautology.
 */
public final class ReferenceForward {

    private final ModelConfig cfg;
    private final Map<String, double[][]> w2 = new java.util.HashMap<>();
    private final Map<String, double[]> w1 = new java.util.HashMap<>();

    public ReferenceForward(ModelConfig cfg, Map<String, INDArray> weights) {
        this.cfg = cfg;
        for (Map.Entry<String, INDArray> e : weights.entrySet()) {
            INDArray a = e.getValue().castTo(DataType.DOUBLE);
            if (a.rank() == 2) w2.put(e.getKey(), a.toDoubleMatrix());
            else w1.put(e.getKey(), a.toDoubleVector());
        }
    }

    /** Logits [T][vocab] for one unpadded sequence. */
    public double[][] logits(int[] ids) {
        return cfg instanceof LlamaConfig l ? llama(l, ids) : gptj((GptjConfig) cfg, ids);
    }

    // ---------------- LLaMA ----------------

    private double[][] llama(LlamaConfig c, int[] ids) {
        int t = ids.length;
        double[][] emb = w2.get("model.embed_tokens.weight");
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) x[i] = emb[ids[i]].clone();
        double[] invFreq = llamaInvFreq(c);
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] n = rms(x, w1.get(p + "input_layernorm.weight"), c.rmsNormEps());
            double[][] attn = llamaAttention(c, p + "self_attn.", n, invFreq);
            x = add(x, attn);
            double[][] n2 = rms(x, w1.get(p + "post_attention_layernorm.weight"), c.rmsNormEps());
            double[][] gate = lin(n2, p + "mlp.gate_proj", c.mlpBias());
            double[][] up = lin(n2, p + "mlp.up_proj", c.mlpBias());
            for (int i = 0; i < gate.length; i++) {
                for (int j = 0; j < gate[i].length; j++) {
                    double g = gate[i][j];
                    gate[i][j] = g / (1 + Math.exp(-g)) * up[i][j];
                }
            }
            x = add(x, lin(gate, p + "mlp.down_proj", c.mlpBias()));
        }
        x = rms(x, w1.get("model.norm.weight"), c.rmsNormEps());
        double[][] head = c.tieWordEmbeddings() ? emb : w2.get("lm_head.weight");
        return matmulT(x, head, null);
    }

    private static double[] llamaInvFreq(LlamaConfig c) {
        int dim = c.headDim();
        double[] inv = new double[dim / 2];
        for (int i = 0; i < inv.length; i++) inv[i] = 1.0 / Math.pow(c.ropeTheta(), (double) (2 * i) / dim);
        RopeScaling s = c.ropeScaling();
        if (s.type() == RopeScaling.Type.LINEAR) {
            for (int i = 0; i < inv.length; i++) inv[i] /= s.factor();
        } else if (s.type() == RopeScaling.Type.LLAMA3) {
            // transformers/modeling_rope_utils.py::_compute_llama3_parameters
            double oldCtx = s.originalMaxPositionEmbeddings();
            double lowWl = oldCtx / s.lowFreqFactor();
            double highWl = oldCtx / s.highFreqFactor();
            for (int i = 0; i < inv.length; i++) {
                double wl = 2 * Math.PI / inv[i];
                double llama = wl > lowWl ? inv[i] / s.factor() : inv[i];
                double smooth = (oldCtx / wl - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                double smoothed = (1 - smooth) * llama / s.factor() + smooth * llama;
                boolean medium = !(wl < highWl) && !(wl > lowWl);
                inv[i] = medium ? smoothed : llama;
            }
        }
        return inv;
    }

    private double[][] llamaAttention(LlamaConfig c, String p, double[][] x, double[] invFreq) {
        int t = x.length;
        int h = c.numHeads();
        int kvh = c.numKeyValueHeads();
        int d = c.headDim();
        double[][] q = lin(x, p + "q_proj", c.attentionBias());
        double[][] k = lin(x, p + "k_proj", c.attentionBias());
        double[][] v = lin(x, p + "v_proj", c.attentionBias());
        // cos/sin = cat(freqs, freqs); q*cos + rotate_half(q)*sin
        double[][][] qh = heads(q, h, d);
        double[][][] kh = heads(k, kvh, d);
        double[][][] vh = heads(v, kvh, d);
        for (double[][][] arr : new double[][][][]{qh, kh}) {
            for (double[][] head : arr) {
                for (int pos = 0; pos < t; pos++) {
                    double[] src = head[pos].clone();
                    for (int j = 0; j < d; j++) {
                        double f = invFreq[j % (d / 2)] * pos;
                        double rot = j < d / 2 ? -src[j + d / 2] : src[j - d / 2];
                        head[pos][j] = src[j] * Math.cos(f) + rot * Math.sin(f);
                    }
                }
            }
        }
        double[][] out = new double[t][h * d];
        int groups = h / kvh;
        for (int hh = 0; hh < h; hh++) {
            int kvIndex = hh / groups;   // repeat_kv
            attendInto(out, hh, qh[hh], kh[kvIndex], vh[kvIndex], 1.0 / Math.sqrt(d));
        }
        return lin(out, p + "o_proj", c.attentionBias());
    }

    // ---------------- GPT-J ----------------

    private double[][] gptj(GptjConfig c, int[] ids) {
        int t = ids.length;
        double[][] emb = w2.get("transformer.wte.weight");
        double[][] x = new double[t][];
        for (int i = 0; i < t; i++) x[i] = emb[ids[i]].clone();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "transformer.h." + l + ".";
            double[][] n = layerNorm(x, w1.get(p + "ln_1.weight"), w1.get(p + "ln_1.bias"), c.layerNormEpsilon());
            double[][] attn = gptjAttention(c, p + "attn.", n);
            double[][] ff = lin(n, p + "mlp.fc_in", true);
            for (double[] row : ff) {
                for (int j = 0; j < row.length; j++) {
                    double v = row[j];
                    row[j] = 0.5 * v * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (v + 0.044715 * Math.pow(v, 3.0))));
                }
            }
            ff = lin(ff, p + "mlp.fc_out", true);
            x = add(add(attn, ff), x);
        }
        x = layerNorm(x, w1.get("transformer.ln_f.weight"), w1.get("transformer.ln_f.bias"), c.layerNormEpsilon());
        double[][] head = c.tieWordEmbeddings() ? emb : w2.get("lm_head.weight");
        return matmulT(x, head, w1.get("lm_head.bias"));
    }

    private double[][] gptjAttention(GptjConfig c, String p, double[][] x) {
        int t = x.length;
        int h = c.numHeads();
        int d = c.headDim();
        int rd = c.rotaryDim();
        double[][][] qh = heads(lin(x, p + "q_proj", false), h, d);
        double[][][] kh = heads(lin(x, p + "k_proj", false), h, d);
        double[][][] vh = heads(lin(x, p + "v_proj", false), h, d);
        // create_sinusoidal_positions(dim = rotary_dim): inv_freq = 1 / 10000^(arange(0, rd, 2) / rd)
        for (double[][][] arr : new double[][][][]{qh, kh}) {
            for (double[][] head : arr) {
                for (int pos = 0; pos < t; pos++) {
                    double[] src = head[pos].clone();
                    for (int j = 0; j < rd; j++) {
                        double inv = 1.0 / Math.pow(10000.0, (double) (2 * (j / 2)) / rd);   // repeat_interleave(2)
                        double rot = (j % 2 == 0) ? -src[j + 1] : src[j - 1];                  // rotate_every_two
                        head[pos][j] = src[j] * Math.cos(inv * pos) + rot * Math.sin(inv * pos);
                    }
                }
            }
        }
        double[][] out = new double[t][h * d];
        for (int hh = 0; hh < h; hh++) attendInto(out, hh, qh[hh], kh[hh], vh[hh], 1.0 / Math.sqrt(d));
        return lin(out, p + "out_proj", false);
    }

    // ---------------- shared plain math ----------------

    private static void attendInto(double[][] out, int head, double[][] q, double[][] k, double[][] v, double scale) {
        int t = q.length;
        int d = q[0].length;
        for (int i = 0; i < t; i++) {
            double[] s = new double[i + 1];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int e = 0; e < d; e++) dot += q[i][e] * k[j][e];
                s[j] = dot * scale;
                max = Math.max(max, s[j]);
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                s[j] = Math.exp(s[j] - max);
                sum += s[j];
            }
            for (int j = 0; j <= i; j++) {
                for (int e = 0; e < d; e++) out[i][head * d + e] += s[j] / sum * v[j][e];
            }
        }
    }

    /** [T][n*d] → [n][T][d] */
    private static double[][][] heads(double[][] x, int n, int d) {
        double[][][] r = new double[n][x.length][d];
        for (int i = 0; i < x.length; i++) {
            for (int hh = 0; hh < n; hh++) System.arraycopy(x[i], hh * d, r[hh][i], 0, d);
        }
        return r;
    }

    private double[][] lin(double[][] x, String name, boolean bias) {
        return matmulT(x, w2.get(name + ".weight"), bias ? w1.get(name + ".bias") : null);
    }

    /** x · Wᵀ + b with W [out][in]. */
    private static double[][] matmulT(double[][] x, double[][] w, double[] b) {
        double[][] y = new double[x.length][w.length];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < w.length; o++) {
                double s = b == null ? 0 : b[o];
                for (int k = 0; k < x[i].length; k++) s += x[i][k] * w[o][k];
                y[i][o] = s;
            }
        }
        return y;
    }

    private static double[][] rms(double[][] x, double[] g, double eps) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) ms += v * v;
            ms /= x[i].length;
            double r = 1.0 / Math.sqrt(ms + eps);
            y[i] = new double[x[i].length];
            for (int j = 0; j < y[i].length; j++) y[i][j] = g[j] * (x[i][j] * r);
        }
        return y;
    }

    private static double[][] layerNorm(double[][] x, double[] g, double[] b, double eps) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) {
            double mean = 0;
            for (double v : x[i]) mean += v;
            mean /= x[i].length;
            double var = 0;
            for (double v : x[i]) var += (v - mean) * (v - mean);
            var /= x[i].length;
            y[i] = new double[x[i].length];
            for (int j = 0; j < y[i].length; j++) y[i][j] = (x[i][j] - mean) / Math.sqrt(var + eps) * g[j] + b[j];
        }
        return y;
    }

    private static double[][] add(double[][] a, double[][] b) {
        double[][] y = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            y[i] = new double[a[i].length];
            for (int j = 0; j < y[i].length; j++) y[i][j] = a[i][j] + b[i][j];
        }
        return y;
    }
}
