package org.silora.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The JavaCPP limits the launcher gives the JVM that runs a command: sized from the run's memory budget for a model
 * over 1 GB in float32, from the machine otherwise; a child JVM (the bench's runs) chooses its own instead of
 * inheriting those chosen for its parent, while limits the user set are kept.
 */
class LauncherLimitsTest {

    @TempDir
    Path tmp;

    private static final String BYTES = "-Dorg.bytedeco.javacpp.maxbytes";
    private static final String PHYSICAL = "-Dorg.bytedeco.javacpp.maxphysicalbytes";

    @Test
    void aChildDropsTheLimitsTheLauncherChoseForItsParentAndKeepsTheUsersOwn() {
        List<String> parent = List.of("-Xmx4g", BYTES + "=100", PHYSICAL + "=200");
        assertEquals(List.of("-Xmx4g"), SiloraMain.inheritedJvmArgs(parent, BYTES + "," + PHYSICAL));
        // the user set maxbytes, the launcher added maxphysicalbytes
        assertEquals(List.of("-Xmx4g", BYTES + "=100"), SiloraMain.inheritedJvmArgs(parent, PHYSICAL));
        // nothing chosen by a launcher: everything is the user's
        assertEquals(parent, SiloraMain.inheritedJvmArgs(parent, null));
        assertEquals(parent, SiloraMain.inheritedJvmArgs(parent, ""));
    }

    @Test
    void aModelOverOneGigabyteGetsItsBudgetAndEverythingElseAShareOfTheMachine() throws Exception {
        long total = 24L << 30;
        // bench and small models: a quarter and 60 % of the machine, so that the GC frees arrays early
        assertArrayEquals(new long[]{total / 4, total * 6 / 10}, SiloraMain.limits(total, new String[]{"bench"}));

        // a checkpoint of 1.07 GB in float32 (BF16 on disk); its data is a hole in a sparse file, only the header is read
        Path model = tmp.resolve("big");
        Files.createDirectories(model);
        long n = 16384L * 16384;
        String header = "{\"model.embed_tokens.weight\":{\"dtype\":\"BF16\",\"shape\":[16384,16384],\"data_offsets\":[0," + 2 * n + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(model.resolve("model.safetensors").toFile(), "rw")) {
            byte[] len = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length).array();
            f.write(len);
            f.write(h);
            f.setLength(8 + h.length + 2 * n);
        }
        long budget = 20L << 30;
        assertArrayEquals(new long[]{budget, budget + (512L << 20)},
                SiloraMain.limits(total, new String[]{"train-general", "--model", model.toString(), "--max-memory", "20g"}));
        // the budget never exceeds the machine
        long[] big = SiloraMain.limits(total, new String[]{"logits", "--model", model.toString(), "--max-memory", "64g"});
        assertEquals(total, big[0]);
        assertEquals(total - (256L << 20), big[1]);
    }
}
