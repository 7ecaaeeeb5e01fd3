package org.silora.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bench's output contract (SPEC §6 names its keys; other tools read them), on a miniature run. No timing is
 * asserted: performance is what {@code silora bench} reports, not what a unit test decides.
 */
class BenchTest {

    @TempDir
    Path tmp;

    @Test
    void everyFigureOfTheSpecificationIsAPositiveNumber() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ObjectNode r = Bench.run(new Bench.Options(1, 1, 2, 16, 4, 4L << 20, false), tmp, new PrintStream(log, true, StandardCharsets.UTF_8));
        for (String key : List.of("gemm_gflops", "train_tokens_per_s", "mfu", "si_overhead", "importance_speedup",
                "importance_storage_ratio", "import_gb_per_s", "peak_rss_mb")) {
            assertTrue(r.has(key) && r.get(key).isNumber(), key + " is a number: " + r.get(key));
            assertTrue(r.get(key).asDouble() > 0, key + " > 0: " + r.get(key));
        }
        assertEquals("tiny-llama (shipped)", r.get("mfu_model").asText(), "without the large model the headline is the tiny one");
        // Ω of q/v (r 8) against the Fisher of every linear weight: a fixed property of the shipped model
        assertTrue(r.get("importance_storage_ratio").asDouble() < 0.2, r.toString());
        assertEquals(4, r.get("thread_settings").size(), "four thread settings measured side by side");
        for (var row : r.get("thread_settings")) assertFalse(row.has("error"), row.toString());
        String table = Bench.table(r);
        assertTrue(table.contains("| mfu (tiny-llama (shipped)) |"), table);
        assertTrue(table.lines().count() > 10, table);
    }
}
