package org.silora.hf.safetensors;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.silora.hf.Messages;
import org.silora.hf.ModelFormatException;

/** Strict JSON for headers and index files: valid UTF-8, no duplicate keys, shallow nesting, nothing trailing. */
final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();

    private Json() {
    }

    /** Parses {@code bytes} ({@code what}, e.g. "header") of {@code file} as one JSON object. */
    static JsonNode parseObject(Path file, String what, byte[] bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ModelFormatException.of(file, what + " is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw ModelFormatException.of(file, what + " is not valid JSON" + where + ": "
                    + Messages.oneLine(e.getOriginalMessage(), Messages.MAX_WRAPPED), e);
        } catch (RuntimeException e) {
            throw ModelFormatException.of(file, what + " cannot be parsed: " + Messages.oneLine(e), e);
        }
        if (root == null || root.isMissingNode()) {
            throw ModelFormatException.of(file, what + " is empty");
        }
        if (!root.isObject()) {
            throw ModelFormatException.of(file, what + " is a JSON " + kind(root) + ", not an object");
        }
        return root;
    }

    /** "string", "number", ... for messages. */
    static String kind(JsonNode n) {
        return n == null ? "nothing" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }
}
