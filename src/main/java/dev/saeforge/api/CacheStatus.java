package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.BitSet;
import java.util.StringJoiner;

/**
 * Where the Indexed Job that generates a run's activation cache stands, index by index, in the
 * words of the Job's own status (completedIndexes, failedIndexes: "0-3,5").
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"job", "phase", "indexes", "succeeded", "failed", "active", "podFailures"})
public class CacheStatus {
    @JsonPropertyDescription("Name of the Indexed Job that generates the cache, <run>-cache.")
    public String job;

    @JsonPropertyDescription("Pending, Running, Suspended, Succeeded or Failed.")
    public Phase phase;

    @JsonPropertyDescription("Indexes of the Job (spec.activations.parallelism); pod i writes index i.")
    public Integer indexes;

    @JsonPropertyDescription("Indexes that succeeded, as ranges, e.g. 0-3,5.")
    public String succeeded;

    @JsonPropertyDescription("Indexes that failed for good (backoffLimitPerIndex used up), as ranges, e.g. 4.")
    public String failed;

    @JsonPropertyDescription("Pods of the Job running now.")
    public Integer active;

    @JsonPropertyDescription("Pods of the Job that failed so far; Kubernetes retries a failed pod's index alone.")
    public Integer podFailures;

    public enum Phase {
        Pending, Running, Suspended, Succeeded, Failed
    }

    /** How many indexes {@code ranges} names: "0-3,5" is 5; null or empty is 0. */
    public static int count(String ranges) {
        return parse(ranges).cardinality();
    }

    /** The indexes of Kubernetes' interval list ("0-3,5"), as the Job controller writes completedIndexes and failedIndexes. */
    public static BitSet parse(String ranges) {
        BitSet indexes = new BitSet();
        if (ranges == null || ranges.isBlank()) {
            return indexes;
        }
        for (String range : ranges.split(",")) {
            int dash = range.indexOf('-');
            try {
                int first = Integer.parseInt((dash < 0 ? range : range.substring(0, dash)).strip());
                int last = dash < 0 ? first : Integer.parseInt(range.substring(dash + 1).strip());
                indexes.set(first, last + 1);
            } catch (NumberFormatException | IndexOutOfBoundsException e) {
                throw new IllegalArgumentException("index ranges \"" + ranges + "\": \"" + range + "\" is not an index or a range FIRST-LAST");
            }
        }
        return indexes;
    }

    /** Kubernetes' interval list of {@code indexes}: consecutive indexes as FIRST-LAST, "0-3,5"; null when there are none. */
    public static String format(BitSet indexes) {
        StringJoiner ranges = new StringJoiner(",");
        for (int first = indexes.nextSetBit(0); first >= 0; ) {
            int end = indexes.nextClearBit(first);
            ranges.add(end - 1 == first ? Integer.toString(first) : first + "-" + (end - 1));
            first = indexes.nextSetBit(end);
        }
        return ranges.length() == 0 ? null : ranges.toString();
    }

    /** "3/8": indexes succeeded of all. */
    public String progress() {
        return count(succeeded) + "/" + (indexes == null ? "?" : indexes);
    }

    /** Indexes that neither succeeded nor failed for good: running, waiting for a pod, or about to be retried. */
    public String unfinished() {
        BitSet rest = new BitSet();
        rest.set(0, indexes == null ? 0 : indexes);
        rest.andNot(parse(succeeded));
        rest.andNot(parse(failed));
        return format(rest);
    }
}
