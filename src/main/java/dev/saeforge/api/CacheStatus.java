package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

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
        int count = 0;
        if (ranges == null || ranges.isBlank()) {
            return 0;
        }
        for (String range : ranges.split(",")) {
            int dash = range.indexOf('-');
            try {
                count += dash < 0 ? 1 : Integer.parseInt(range.substring(dash + 1).strip()) - Integer.parseInt(range.substring(0, dash).strip()) + 1;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("index ranges \"" + ranges + "\": \"" + range + "\" is not an index or a range FIRST-LAST");
            }
        }
        return count;
    }

    /** "3/8": indexes succeeded of all. */
    public String progress() {
        return count(succeeded) + "/" + (indexes == null ? "?" : indexes);
    }
}
