package org.silora.lora;

/**
 * A NaN or infinity in a loss, a gradient, an importance or a tensor about to be written: training stops (or, when
 * asked, skips the step) and nothing poisoned reaches a file. The message names the step and the module.
 */
public class NonFiniteException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NonFiniteException(String message) {
        super(message);
    }
}
