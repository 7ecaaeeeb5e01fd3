package org.silora.lora;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** peft's target matching, and what a hostile regex in an adapter config gets. */
class LoraConfigTest {

    @Test
    void suffixAndRegexTargetsMatchLikePeft() {
        LoraConfig suffix = LoraConfig.builder().targetModules("q_proj", "v_proj").build();
        assertTrue(suffix.matches("model.layers.0.self_attn.q_proj"));
        assertFalse(suffix.matches("model.layers.0.self_attn.k_proj"));
        LoraConfig regex = LoraConfig.builder().targetModulesRegex(".*\\.(q|v)_proj").build();
        assertTrue(regex.matches("model.layers.11.self_attn.v_proj"));
        assertFalse(regex.matches("model.layers.11.self_attn.v_proj.extra"), "full match, as re.fullmatch");
    }

    @Test
    void invalidRegexIsOneLineError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LoraConfig.builder().targetModulesRegex(".*(q|v_proj").build());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains("not a valid regular expression"), e.getMessage());
    }

    @Test
    void catastrophicBacktrackingIsRefusedNotHung() {
        LoraConfig evil = LoraConfig.builder().targetModulesRegex("(.*)(.*)(.*)(.*)(.*)(.*)(.*)Z").build();
        long t0 = System.nanoTime();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> evil.matches("model.layers.0.self_attn.q_proj"));
        assertTrue(e.getMessage().contains("takes too long"), e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 10, "refused within seconds");
    }
}
