package org.silora.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --data} of the commands that learn from text (train-general, train-domain, fisher, pretrain): every form
 * {@link org.silora.io.TextDocuments} reads. ({@code eval}'s {@code --data} is a task file and says so itself.)
 */
final class TextDataOption {

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "text: the Pile's .jsonl.zst (streamed), .jsonl with a \"text\" field, or plain text")
    Path file;
}
