package org.silora.hf.safetensors;

import java.nio.file.Path;
import java.util.Set;

import org.silora.hf.ModelFormatException;

/**
 * The safetensors element types this library reads and writes. Every other dtype is rejected by name.
 *
 * <pre>{@code
 * DType t = DType.parse("BF16", file, "model.embed_tokens.weight");   // BF16, byteSize() == 2
 * }</pre>
 */
public enum DType {
    F32(4), F16(2), BF16(2);

    /** dtypes of the safetensors format that are valid but not supported here. */
    private static final Set<String> KNOWN_UNSUPPORTED = Set.of(
            "F64", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64",
            "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4");
    private static final String SUPPORTED = "(supported: F32, F16, BF16)";

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /**
     * Parses the safetensors {@code dtype} string of {@code tensorName} in {@code file}.
     *
     * @throws ModelFormatException for a known but unsupported dtype (named in the message) or an unknown string
     */
    public static DType parse(String s, Path file, String tensorName) {
        if (s != null) {
            switch (s) {
                case "F32": return F32;
                case "F16": return F16;
                case "BF16": return BF16;
                default: break;
            }
        }
        String tensor = Text.quote(tensorName);
        if (s != null && KNOWN_UNSUPPORTED.contains(s)) {
            throw ModelFormatException.of(file, "unsupported dtype " + s + " for tensor " + tensor + " " + SUPPORTED);
        }
        throw ModelFormatException.of(file, "unknown dtype " + (s == null ? "null" : Text.quote(s))
                + " for tensor " + tensor + " " + SUPPORTED);
    }
}
