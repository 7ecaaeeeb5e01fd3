/**
 * The {@code silora} command line: one class per command that parses its options and calls the library, JSON on
 * stdout, logs and progress on stderr. Options several commands share are declared once, as picocli mixins:
 * {@link org.silora.cli.ModelOption}, {@link org.silora.cli.TextDataOption}, {@link org.silora.cli.OutFolder},
 * {@link org.silora.cli.LoraOptions}, {@link org.silora.cli.TrainOptions}, {@link org.silora.cli.StepOptions} and
 * {@link org.silora.cli.MemoryOptions}.
 */
package org.silora.cli;
