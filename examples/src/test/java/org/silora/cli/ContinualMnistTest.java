package org.silora.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code silora continual-mnist} on a reduced run of the real digits: SI and EWC forget clearly less than fine-tuning. */
class ContinualMnistTest {

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private PrintStream oldOut;

    @BeforeEach
    void capture() {
        oldOut = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(oldOut);
    }

    @Test
    void siAndEwcKeepOldTasksWhereFineTuningForgets() throws Exception {
        // reduced: 3 epochs per task, hidden 100; c and λ fixed to the values the validation split picked for this
        // setting from {1, 10} and {1e5, 1e6} (a shorter run needs a stronger pull than the full one's c = 1)
        int rc = SiloraMain.execute("continual-mnist", "--json", "--out", tmp.toString(),
                "--epochs", "3", "--hidden", "100", "--si-c", "10", "--ewc-lambda", "100000");
        assertEquals(0, rc);
        String text = out.toString(StandardCharsets.UTF_8).strip();
        assertEquals(1, text.lines().count(), "only the JSON on stdout: " + text);
        JsonNode j = new ObjectMapper().readTree(text);
        double ft = j.at("/methods/finetune/avg_acc").asDouble();
        double si = j.at("/methods/si/avg_acc").asDouble();
        double ewc = j.at("/methods/ewc/avg_acc").asDouble();
        double joint = j.at("/methods/joint/avg_acc").asDouble();
        String summary = "finetune " + ft + ", si " + si + ", ewc " + ewc + ", joint " + joint;
        // measured: finetune 0.709, si 0.962, ewc 0.863, joint 0.987
        assertTrue(si > ft + 0.08, summary);
        assertTrue(ewc > ft + 0.08, summary);
        assertTrue(si > joint - 0.08, "SI near joint training: " + summary);
        assertEquals(10.0, j.at("/methods/si/c").asDouble());
        assertEquals(100000.0, j.at("/methods/ewc/lambda").asDouble());
        assertEquals(5, j.at("/methods/si/acc").size());
        assertEquals(5, j.at("/methods/si/acc/0").size());
        // the first task right after its training: learnt
        assertTrue(j.at("/methods/finetune/acc/0/0").asDouble() > 0.95, summary);
        assertNotNull(ImageIO.read(tmp.resolve("accuracy.png").toFile()));
        assertEquals(j, new ObjectMapper().readTree(Files.readString(tmp.resolve("results.json"))));
    }
}
