package org.silora.eval;

import java.util.List;

/**
 * One multiple-choice question as lm-evaluation-harness scores it: the prompt ({@code context}), the answer
 * strings (each scored as the continuation {@code " " + choice}) and the index of the correct one.
 *
 * @param context the prompt, e.g. {@code "Question: ...\nAnswer:"}
 * @param choices the answers, at least 2
 * @param label   index of the correct answer in {@code choices}
 */
public record MultipleChoiceItem(String context, List<String> choices, int label) {

    public MultipleChoiceItem {
        if (context == null) throw new IllegalArgumentException("context is null");
        if (choices == null || choices.size() < 2) throw new IllegalArgumentException("a question needs at least 2 choices");
        for (String c : choices) if (c == null) throw new IllegalArgumentException("a choice is null");
        if (label < 0 || label >= choices.size()) {
            throw new IllegalArgumentException("label " + label + " outside [0, " + choices.size() + ")");
        }
        choices = List.copyOf(choices);
    }
}
