package org.silora.continual;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.file.Path;
import java.util.Map;

/**
 * The JSON of an experiment (SPEC §4: {@code {"methods":{"finetune":{"avg_acc":…},"ewc":{…},"si":{…}}, …}}), as
 * printed by {@code silora continual-mnist --json} and written to {@code results.json}.
 *
 * <pre>{@code
 * ObjectNode json = ResultsJson.of(outcome, setup, out.resolve("accuracy.png"));
 * }</pre>
 */
public final class ResultsJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private ResultsJson() {
    }

    /** The results: tasks, split sizes, setup, per method its test accuracy matrix, the tuning grids; {@code png}: the chart. */
    public static ObjectNode of(Outcome o, Setup s, Path png) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode taskArr = root.putArray("tasks");
        for (Task t : o.tasks()) taskArr.addArray().add(t.a()).add(t.b());
        ObjectNode split = root.putObject("split");
        split.put("train", o.tasks().stream().mapToLong(t -> t.train().numExamples()).sum());
        split.put("val", o.tasks().stream().mapToLong(t -> t.val().numExamples()).sum());
        split.put("test", o.tasks().stream().mapToLong(t -> t.test().numExamples()).sum());
        ObjectNode setup = root.putObject("setup");
        setup.put("model", "MLP 784-" + s.hidden() + "-" + s.hidden() + "-10, ReLU, softmax, Adam");
        setup.put("epochs_per_task", s.epochs()).put("batch", s.batch()).put("lr", s.lr()).put("xi", s.xi()).put("seed", s.seed());
        setup.put("scenario", "task-incremental: prediction restricted to the task's two classes");
        ObjectNode methods = root.putObject("methods");
        for (Map.Entry<String, Run> e : o.methods().entrySet()) {
            ObjectNode m = methods.putObject(e.getKey());
            m.put("avg_acc", e.getValue().testAvg());
            if (e.getKey().equals("si")) m.put("c", o.siC());
            if (e.getKey().equals("ewc")) m.put("lambda", o.lambda());
            m.put("val_avg_acc", e.getValue().valAvg());
            ArrayNode acc = m.putArray("acc");
            for (double[] row : e.getValue().test()) {
                ArrayNode r = acc.addArray();
                for (double v : row) r.add(v);
            }
            m.put("seconds", e.getValue().seconds());
        }
        ObjectNode j = methods.putObject("joint");
        j.put("avg_acc", o.joint().testAvg());
        j.put("val_avg_acc", o.joint().valAvg());
        ArrayNode ja = j.putArray("acc");
        for (double[] row : o.joint().test()) ja.add(row[0]);
        j.put("seconds", o.joint().seconds());
        ObjectNode tuning = root.putObject("tuning");
        ArrayNode si = tuning.putArray("si");
        for (Outcome.Trial t : o.siGrid()) si.addObject().put("c", t.strength()).put("val_avg_acc", t.valAvg());
        ArrayNode ewc = tuning.putArray("ewc");
        for (Outcome.Trial t : o.ewcGrid()) ewc.addObject().put("lambda", t.strength()).put("val_avg_acc", t.valAvg());
        root.put("seconds", o.seconds());
        root.put("png", png.toString());
        return root;
    }
}
