package org.silora.demo;

import com.fasterxml.jackson.databind.JsonNode;
import org.silora.si.Importance;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's three figures per model × domain, from its {@link Report.Run}, the units' JSON and the first seed's
 * phase-ν importance; {@link Plots} draws them:
 * <ul>
 * <li>{@code front_<tag>.png}: domain accuracy against the rise of general loss, one line per swept method and a
 *     point for each other method, with 95 % intervals both ways;</li>
 * <li>{@code fig4_loss_vs_penalty_<tag>.png}: task loss and φ-scaled penalty over the μ steps of the first seed's
 *     SI-LoRA run at its chosen φ, SI-LoRA without layer weights, and LoRA(ν+μ) (the paper's Fig. 4);</li>
 * <li>{@code fig7_omega_norm_heatmap_<tag>.png}: log10 ‖Ω_l‖ over layers and target kinds (the paper's Fig. 7).</li>
 * </ul>
 *
 * <pre>{@code
 * for (Report.Run r : outcome.runs()) Figures.draw(plan, out, r, outcome.units());
 * }</pre>
 */
final class Figures {

    private static final Pattern LAYER = Pattern.compile("\\.(\\d+)\\.");

    private Figures() {
    }

    /** Draws the run's three figures into {@code out} (each PNG written to a temporary file and renamed). */
    static void draw(DemoPlan plan, Path out, Report.Run r, Map<String, JsonNode> units) throws IOException {
        String tag = r.model() + "-" + r.domain();
        // the trade-off: domain accuracy against the rise of general loss, one line per swept method, single points for the rest
        List<Plots.Front> fronts = new ArrayList<>();
        Map<String, String> names = Map.of("lora_mu_early", "LoRA(mu), fewer steps", "replay", "replay (general fraction)",
                "ewc_lora", "EWC-LoRA (lambda)", "si_lora", "SI-LoRA (phi)", "si_budget", "SI-LoRA, general budget",
                "si_dial", "importance dial of LoRA(nu+mu)", "wise_ft", "uniform rescale of LoRA(nu+mu)");
        for (Map.Entry<String, List<Report.FrontPoint>> e : r.fronts().entrySet()) {
            fronts.add(front(names.get(e.getKey()), e.getValue().stream().map(Report.FrontPoint::row).toList()));
        }
        for (String m : List.of("base", "lora_nu_mu", "rslora", "si_lora_no_layer", "si_lora_authors")) {
            fronts.add(front(m, List.of(r.row(m))));
        }
        Plots.front(out.resolve("front_" + tag + ".png"), "Domain accuracy vs forgetting (" + tag + ", " + r.seeds() + " seeds, 95 % intervals)",
                "domain accuracy, % (higher is better)", "general loss rise vs base, nats/token (lower is better)", fronts);
        // Fig. 4: task loss and scaled penalty over the μ steps of the first seed's chosen SI-LoRA run
        long s0 = plan.seeds().get(0);
        List<Plots.Series> s = new ArrayList<>();
        int chosenK = plan.phiGrid().indexOf(r.row("si_lora").values().get(0));
        for (Unit u : List.of(new Unit(r.model(), r.domain(), s0, "si_lora", chosenK), new Unit(r.model(), r.domain(), s0, "si_lora_no_layer", -1),
                new Unit(r.model(), r.domain(), s0, "lora_nu_mu", -1))) {
            JsonNode j = units.get(u.id());
            double[] loss = doubles(j.get("step_loss"));
            double[] x = new double[loss.length];
            for (int i = 0; i < x.length; i++) x[i] = i + 1;
            s.add(new Plots.Series(u.method() + " task loss", x, loss));
            if (!u.method().equals("lora_nu_mu")) s.add(new Plots.Series(u.method() + " penalty", x, doubles(j.get("step_penalty"))));
        }
        Plots.lines(out.resolve("fig4_loss_vs_penalty_" + tag + ".png"), "Phase mu: task loss and phi-scaled penalty (" + tag + ", seed " + s0 + ")",
                "optimizer step", "value", s, true);
        // Fig. 7: log10 ||Omega_l|| over layers for each target kind, first seed
        Importance imp = Importance.load(out.resolve(tag).resolve("s" + s0).resolve("nu").resolve("importance.safetensors"));
        heatmap(out.resolve("fig7_omega_norm_heatmap_" + tag + ".png"), "log10 ||Omega_l|| after phase nu (" + tag + ", seed " + s0 + ")",
                imp.norms());
    }

    /** A front in the plot's units: accuracy in percent on x, Δ loss on y, each with its interval. */
    private static Plots.Front front(String name, List<Report.Row> rows) {
        Function<Function<Report.Row, Double>, double[]> f = g -> rows.stream().mapToDouble(g::apply).toArray();
        return new Plots.Front(name, f.apply(x -> 100 * x.domainAcc().mean()), f.apply(x -> 100 * x.domainAcc().lo()),
                f.apply(x -> 100 * x.domainAcc().hi()), f.apply(x -> x.deltaLoss().mean()), f.apply(x -> x.deltaLoss().lo()),
                f.apply(x -> x.deltaLoss().hi()));
    }

    private static double[] doubles(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asDouble();
        return v;
    }

    /** One row per layer, one column per target kind ({@code q_proj}, ...), in the order the modules come. */
    private static void heatmap(Path file, String title, Map<String, Double> norms) throws IOException {
        List<String> kinds = new ArrayList<>();
        List<Integer> layers = new ArrayList<>();
        for (String n : norms.keySet()) {
            String kind = n.substring(n.lastIndexOf('.') + 1);
            if (!kinds.contains(kind)) kinds.add(kind);
            int layer = layerOf(n);
            if (!layers.contains(layer)) layers.add(layer);
        }
        double[][] v = new double[layers.size()][kinds.size()];
        for (double[] row : v) Arrays.fill(row, Double.NaN);
        for (Map.Entry<String, Double> e : norms.entrySet()) {
            String kind = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
            v[layers.indexOf(layerOf(e.getKey()))][kinds.indexOf(kind)] = Math.log10(Math.max(e.getValue(), 1e-30));
        }
        Plots.heatmap(file, title, layers.stream().map(l -> "layer " + l).toArray(String[]::new), kinds.toArray(String[]::new), v, "log10 norm");
    }

    private static int layerOf(String module) {
        Matcher m = LAYER.matcher(module);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }
}
