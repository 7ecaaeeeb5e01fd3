package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code silora continual-mnist} writes each output to a temporary file and renames it into place: a reader sees the
 * old file or the whole new one, never a part. (A tiny run: one epoch, 8 hidden units, 40 digits per task.)
 */
class ContinualMnistOutputsTest extends CapturedCli {

    @TempDir
    Path tmp;

    private static final String[] TINY = {"--json", "--epochs", "1", "--hidden", "8", "--train-per-task", "40",
            "--si-c", "1", "--ewc-lambda", "1"};

    private String[] tiny(Path out) {
        return Stream.concat(Stream.of("continual-mnist", "--out", out.toString()), Stream.of(TINY)).toArray(String[]::new);
    }

    @Test
    void outputsReplaceEarlierFilesByRenameAndAreComplete() throws Exception {
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        // the earlier outputs are hard links to files outside the folder: a write into the old file would change
        // them, a rename of a new file over the name leaves them as they were
        Path oldJson = Files.writeString(tmp.resolve("old-results"), "old results");
        Path oldPng = Files.writeString(tmp.resolve("old-png"), "old png");
        Files.createLink(out.resolve("results.json"), oldJson);
        Files.createLink(out.resolve("accuracy.png"), oldPng);

        assertEquals(0, execute(tiny(out)), err.toString(StandardCharsets.UTF_8));

        assertEquals("old results", Files.readString(oldJson));
        assertEquals("old png", Files.readString(oldPng));
        JsonNode printed = new ObjectMapper().readTree(this.out.toString(StandardCharsets.UTF_8));
        assertEquals(printed, new ObjectMapper().readTree(Files.readString(out.resolve("results.json"))));
        BufferedImage png = ImageIO.read(out.resolve("accuracy.png").toFile());
        assertNotNull(png, "accuracy.png decodes");
        assertEquals(org.silora.demo.Plots.WIDTH, png.getWidth());
        assertEquals(org.silora.demo.Plots.HEIGHT, png.getHeight());
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("accuracy.png", "results.json"), s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary files left behind");
        }
    }

    @Test
    void outThatIsAFileIsRefusedBeforeAnyTraining() throws Exception {
        Path file = Files.writeString(tmp.resolve("taken"), "a file");
        assertEquals(1, execute(tiny(file)));
        String e = err.toString(StandardCharsets.UTF_8).strip();
        assertEquals(1, e.lines().count(), e);
        assertTrue(e.contains("exists and is not a folder"), e);
        assertEquals(0, out.size());
        assertEquals("a file", Files.readString(file));
    }
}
