package org.silora.demo;

import java.util.List;

/**
 * Whether one method's trade-off front lies above another's, decided by the 95 % intervals.
 *
 * <p>A point is (domain accuracy, higher is better; general Δ loss, lower is better), each with its interval. Point p
 * <em>clearly beats</em> point q when p is at least as good as q on both means and better with non-overlapping
 * intervals on at least one axis. Front A is {@link Outcome#ABOVE} front B when some point of A clearly beats some
 * point of B and no point of B clearly beats a point of A; {@link Outcome#BELOW} the other way round;
 * {@link Outcome#MIXED} when both happen; {@link Outcome#INDISTINGUISHABLE} when neither does.
 *
 * <pre>{@code
 * Verdict.Outcome o = Verdict.compare(siFront, loraFront);
 * }</pre>
 */
public final class Verdict {

    /** A front point with 95 % intervals. */
    public record Point(double acc, double accLo, double accHi, double dloss, double dlossLo, double dlossHi) {
        public Point {
            if (!(accLo <= acc && acc <= accHi && dlossLo <= dloss && dloss <= dlossHi)) {
                throw new IllegalArgumentException("interval does not hold its mean: " + this);
            }
        }
    }

    public enum Outcome {
        ABOVE("lies above"), BELOW("lies below"), MIXED("crosses"), INDISTINGUISHABLE("cannot be told apart from");

        private final String words;

        Outcome(String words) {
            this.words = words;
        }

        /** "lies above", "lies below", "crosses", "cannot be told apart from". */
        public String words() {
            return words;
        }
    }

    private Verdict() {
    }

    /** p is at least as good on both means, and better with separated intervals on at least one axis. */
    public static boolean clearlyBeats(Point p, Point q) {
        boolean notWorse = p.acc() >= q.acc() && p.dloss() <= q.dloss();
        boolean separated = p.accLo() > q.accHi() || p.dlossHi() < q.dlossLo();
        return notWorse && separated;
    }

    public static Outcome compare(List<Point> a, List<Point> b) {
        boolean aWins = false;
        boolean bWins = false;
        for (Point p : a) {
            for (Point q : b) {
                aWins |= clearlyBeats(p, q);
                bWins |= clearlyBeats(q, p);
            }
        }
        if (aWins && bWins) return Outcome.MIXED;
        if (aWins) return Outcome.ABOVE;
        if (bWins) return Outcome.BELOW;
        return Outcome.INDISTINGUISHABLE;
    }
}
