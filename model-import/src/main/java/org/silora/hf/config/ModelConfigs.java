package org.silora.hf.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads and writes Hugging Face {@code config.json} for the supported architectures.
 *
 * <pre>{@code
 * ModelConfig cfg = ModelConfigs.load(Path.of("models/tiny-llama"));   // folder or config.json itself
 * String json = ModelConfigs.toJson(cfg);                              // for a written checkpoint
 * }</pre>
 *
 * Missing sizes, unknown architectures, unsupported activations or rope scalings and inconsistent head
 * counts are {@link ModelFormatException}s naming the file; optional keys default as in {@code transformers}.
 */
public final class ModelConfigs {

    /** Largest config.json accepted; real ones are a few kB. */
    private static final long MAX_CONFIG_BYTES = 1 << 20;

    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    private ModelConfigs() {
    }

    /** Loads {@code dir/config.json} (or the file itself when a file is given). */
    public static ModelConfig load(Path dirOrFile) {
        Path file = Files.isDirectory(dirOrFile) ? dirOrFile.resolve("config.json") : dirOrFile;
        JsonNode root;
        try {
            long size = Files.size(file);
            if (size > MAX_CONFIG_BYTES) throw ModelFormatException.of(file, "config is " + size + " bytes, larger than any real config.json");
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw ModelFormatException.of(file, "no such file (a Hugging Face model folder needs config.json)");
        } catch (JsonProcessingException e) {
            throw ModelFormatException.of(file, "not valid JSON: " + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED));
        } catch (IOException e) {
            throw ModelFormatException.of(file, "cannot read: " + e);
        }
        return parse(root, file);
    }

    /** Parses an already read config; {@code file} only names it in errors. */
    public static ModelConfig parse(JsonNode root, Path file) {
        if (root == null || !root.isObject()) throw ModelFormatException.of(file, "config must be a JSON object");
        Reader r = new Reader(root, file);
        String arch = architecture(r);
        try {
            return switch (arch) {
                case LlamaConfig.ARCHITECTURE -> llama(r);
                case GptjConfig.ARCHITECTURE -> gptj(r);
                default -> throw ModelFormatException.of(file, "unsupported architecture '" + arch
                        + "' (supported: " + LlamaConfig.ARCHITECTURE + ", " + GptjConfig.ARCHITECTURE + ")");
            };
        } catch (IllegalArgumentException e) {
            throw ModelFormatException.of(file, e.getMessage());
        }
    }

    private static String architecture(Reader r) {
        JsonNode archs = r.root.get("architectures");
        if (archs != null && !archs.isNull()) {
            if (!archs.isArray() || archs.isEmpty() || !archs.get(0).isTextual()) {
                throw ModelFormatException.of(r.file, "'architectures' must be a non-empty list of class names");
            }
            if (archs.size() > 1) throw ModelFormatException.of(r.file, "more than one architecture listed: " + archs);
            return archs.get(0).asText();
        }
        String type = r.string("model_type", null);
        if (type == null) throw ModelFormatException.of(r.file, "neither 'architectures' nor 'model_type' is given");
        return switch (type) {
            case "llama" -> LlamaConfig.ARCHITECTURE;
            case "gptj" -> GptjConfig.ARCHITECTURE;
            default -> throw ModelFormatException.of(r.file, "unsupported model_type '" + type + "' (supported: llama, gptj)");
        };
    }

    private static LlamaConfig llama(Reader r) {
        String act = r.string("hidden_act", "silu");
        if (!act.equals("silu")) throw new IllegalArgumentException("unsupported hidden_act '" + act + "' (LLaMA uses silu)");
        double partial = r.dbl("partial_rotary_factor", 1.0);
        if (partial != 1.0) throw new IllegalArgumentException("unsupported partial_rotary_factor " + partial + " (LLaMA rotates the whole head)");
        int hidden = r.integer("hidden_size");
        int heads = r.integer("num_attention_heads");
        int headDim;
        if (r.present("head_dim")) {
            headDim = r.integer("head_dim");
        } else {
            if (heads <= 0 || hidden % heads != 0) {
                throw new IllegalArgumentException("hidden_size (" + hidden + ") is not a multiple of num_attention_heads (" + heads + ") and no head_dim is given");
            }
            headDim = hidden / heads;
        }
        return new LlamaConfig(
                r.integer("vocab_size"), hidden, r.integer("intermediate_size"), r.integer("num_hidden_layers"),
                heads, r.integer("num_key_value_heads", heads), headDim,
                r.dbl("rms_norm_eps", 1e-6), r.dbl("rope_theta", 10000.0), ropeScaling(r),
                r.integer("max_position_embeddings", 2048), r.bool("tie_word_embeddings", false),
                r.bool("attention_bias", false), r.bool("mlp_bias", false));
    }

    private static RopeScaling ropeScaling(Reader r) {
        JsonNode s = r.root.get("rope_scaling");
        if (s == null || s.isNull()) return RopeScaling.NONE;
        if (!s.isObject()) throw new IllegalArgumentException("rope_scaling must be an object or null");
        Reader sr = new Reader(s, r.file);
        String type = sr.string("rope_type", null);
        if (type == null) type = sr.string("type", null);
        if (type == null) throw new IllegalArgumentException("rope_scaling has neither 'rope_type' nor 'type'");
        return switch (type) {
            case "default" -> RopeScaling.NONE;
            case "linear" -> new RopeScaling(RopeScaling.Type.LINEAR, sr.dbl("factor"), 0, 0, 0);
            case "llama3" -> new RopeScaling(RopeScaling.Type.LLAMA3, sr.dbl("factor"), sr.dbl("low_freq_factor"),
                    sr.dbl("high_freq_factor"), sr.integer("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException("unsupported rope_scaling type '" + type + "' (supported: linear, llama3)");
        };
    }

    private static GptjConfig gptj(Reader r) {
        String act = r.string("activation_function", "gelu_new");
        if (!act.equals("gelu_new")) throw new IllegalArgumentException("unsupported activation_function '" + act + "' (GPT-J uses gelu_new)");
        int hidden = r.integer("n_embd");
        int heads = r.integer("n_head");
        if (heads <= 0 || hidden % heads != 0) {
            throw new IllegalArgumentException("n_embd (" + hidden + ") is not a multiple of n_head (" + heads + ")");
        }
        int inner = r.present("n_inner") ? r.integer("n_inner") : 4 * hidden;
        int rotary = r.present("rotary_dim") ? r.integer("rotary_dim") : hidden / heads;
        return new GptjConfig(r.integer("vocab_size"), hidden, inner, r.integer("n_layer"), heads, rotary,
                r.dbl("layer_norm_epsilon", 1e-5), r.integer("n_positions", 2048), r.bool("tie_word_embeddings", false));
    }

    /** The {@code config.json} text that {@code transformers} reads back into an equal configuration. */
    public static String toJson(ModelConfig config) {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(config.architecture());
        if (config instanceof LlamaConfig c) {
                o.put("model_type", "llama");
                o.put("vocab_size", c.vocabSize());
                o.put("hidden_size", c.hiddenSize());
                o.put("intermediate_size", c.intermediateSize());
                o.put("num_hidden_layers", c.numLayers());
                o.put("num_attention_heads", c.numHeads());
                o.put("num_key_value_heads", c.numKeyValueHeads());
                o.put("head_dim", c.headDim());
                o.put("hidden_act", "silu");
                o.put("rms_norm_eps", c.rmsNormEps());
                o.put("rope_theta", c.ropeTheta());
                RopeScaling s = c.ropeScaling();
                if (s.type() == RopeScaling.Type.DEFAULT) {
                    o.putNull("rope_scaling");
                } else {
                    ObjectNode so = o.putObject("rope_scaling");
                    so.put("rope_type", s.type().name().toLowerCase(java.util.Locale.ROOT));
                    so.put("factor", s.factor());
                    if (s.type() == RopeScaling.Type.LLAMA3) {
                        so.put("low_freq_factor", s.lowFreqFactor());
                        so.put("high_freq_factor", s.highFreqFactor());
                        so.put("original_max_position_embeddings", s.originalMaxPositionEmbeddings());
                    }
                }
                o.put("max_position_embeddings", c.maxPositionEmbeddings());
                o.put("tie_word_embeddings", c.tieWordEmbeddings());
                o.put("attention_bias", c.attentionBias());
                o.put("mlp_bias", c.mlpBias());
        } else if (config instanceof GptjConfig c) {
                o.put("model_type", "gptj");
                o.put("vocab_size", c.vocabSize());
                o.put("n_embd", c.hiddenSize());
                o.put("n_inner", c.intermediateSize());
                o.put("n_layer", c.numLayers());
                o.put("n_head", c.numHeads());
                o.put("rotary_dim", c.rotaryDim());
                o.put("activation_function", "gelu_new");
                o.put("layer_norm_epsilon", c.layerNormEpsilon());
                o.put("n_positions", c.maxPositionEmbeddings());
                o.put("tie_word_embeddings", c.tieWordEmbeddings());
        }
        o.put("torch_dtype", "float32");
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Typed access with one-line errors naming the key. */
    private record Reader(JsonNode root, Path file) {
        boolean present(String key) {
            JsonNode n = root.get(key);
            return n != null && !n.isNull();
        }

        int integer(String key) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) throw new IllegalArgumentException("missing '" + key + "'");
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new IllegalArgumentException("'" + key + "' must be an integer, got " + abbreviate(n));
            }
            return n.intValue();
        }

        int integer(String key, int def) {
            return present(key) ? integer(key) : def;
        }

        double dbl(String key) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) throw new IllegalArgumentException("missing '" + key + "'");
            if (!n.isNumber()) throw new IllegalArgumentException("'" + key + "' must be a number, got " + abbreviate(n));
            double v = n.doubleValue();
            if (!Double.isFinite(v)) throw new IllegalArgumentException("'" + key + "' must be finite, got " + v);
            return v;
        }

        double dbl(String key, double def) {
            return present(key) ? dbl(key) : def;
        }

        boolean bool(String key, boolean def) {
            if (!present(key)) return def;
            JsonNode n = root.get(key);
            if (!n.isBoolean()) throw new IllegalArgumentException("'" + key + "' must be true or false, got " + abbreviate(n));
            return n.booleanValue();
        }

        String string(String key, String def) {
            if (!present(key)) return def;
            JsonNode n = root.get(key);
            if (!n.isTextual()) throw new IllegalArgumentException("'" + key + "' must be a string, got " + abbreviate(n));
            return n.asText();
        }

        private static String abbreviate(JsonNode n) {
            String s = n.toString();
            return s.length() > 40 ? s.substring(0, 40) + "..." : s;
        }
    }
}
