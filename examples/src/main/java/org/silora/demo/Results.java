package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo's results from its units' figures: the {@code results.json} tree of SPEC §7 (methods, front points, one
 * entry per model × domain with the choices on validation, the verdicts and the phase-ν summaries, the plan) and the
 * Markdown tables with their findings. Pure: the figures come from {@link Report}, writing is the caller's.
 *
 * <pre>{@code
 * Experiment.Outcome o = Results.of(plan, unitResults);   // unit id -> its JSON from work/done/
 * String json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(o.json());
 * }</pre>
 */
final class Results {

    private Results() {
    }

    /** The runs, the results.json tree and the Markdown of every model × domain of the plan. */
    static Experiment.Outcome of(DemoPlan plan, Map<String, JsonNode> units) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("seeds", plan.seeds().size());
        root.put("domain_acc_metric", "acc_norm (lm-evaluation-harness: sum of the answer's log-probabilities / its length in characters); "
                + "domain_acc_raw is acc");
        ArrayNode methods = root.putArray("methods");
        ArrayNode front = root.putArray("front");
        ArrayNode runs = root.putArray("runs");
        StringBuilder md = new StringBuilder();
        List<Report.Run> all = new ArrayList<>();
        for (String model : plan.models()) {
            for (String domain : plan.domains()) {
                Report.Run r = Report.run(plan, model, domain, units);
                all.add(r);
                if (!root.has("domain_items")) root.put("domain_items", r.items());
                Report.toJson(r, methods, front);
                ObjectNode rj = runs.addObject();
                rj.put("model", model);
                rj.put("domain", domain);
                rj.put("domain_items", r.items());
                rj.setAll(r.details());
                ObjectNode v = rj.putObject("verdicts");
                r.verdicts().forEach((k, o) -> v.put(k, o.name().toLowerCase(Locale.ROOT)));
                ArrayNode nus = rj.putArray("nu");
                for (long s : plan.seeds()) nus.add(units.get(new Unit(model, domain, s, "nu", -1).id()));
                md.append(Report.table(r)).append('\n').append(Report.findings(r));
            }
        }
        root.set("plan", plan.toJson());
        return new Experiment.Outcome(all, root, md.toString(), units);
    }
}
