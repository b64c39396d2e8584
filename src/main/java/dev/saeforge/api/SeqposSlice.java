package dev.saeforge.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;

/**
 * spec.dataset.seqposSlice, SAELens' seqpos_slice: the window positions whose activations are
 * used, as Python's {@code slice(*seqpos_slice)} picks them from {@code range(contextSize)}:
 * [end] (one value is the end, as in Python), [start, end] or [start, end, step], each a whole
 * number or null, negative counting from the window's end. [null], the default, keeps every position.
 *
 * @param values the slice's arguments as written (nulls included), which cfg.json records
 */
public record SeqposSlice(List<Integer> values) {
    public static final SeqposSlice ALL = new SeqposSlice(Collections.singletonList(null));
    public static final String FORM = "a list of 1 to 3 whole numbers or nulls, [end], [start, end] or [start, end, step], "
            + "as Python's slice(); e.g. [1, null] drops the first position";

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static SeqposSlice of(JsonNode node) {
        String problem = problem(node);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        List<Integer> values = new ArrayList<>();
        node.forEach(entry -> values.add(entry.isNull() ? null : entry.intValue()));
        return new SeqposSlice(Collections.unmodifiableList(values));
    }

    /** What is wrong with {@code node} as this field's value, whatever the context size; null if nothing. */
    static String problem(JsonNode node) {
        if (!node.isArray() || node.isEmpty() || node.size() > 3) {
            return node + " is not " + FORM;
        }
        for (int i = 0; i < node.size(); i++) {
            JsonNode entry = node.get(i);
            if (!entry.isNull() && !(entry.isIntegralNumber() && entry.canConvertToInt())) {
                return "entry " + i + " (" + entry + ") is not a whole number or null; expected " + FORM;
            }
        }
        if (node.size() == 3 && !node.get(2).isNull() && node.get(2).intValue() <= 0) {
            return "the step " + node.get(2) + " is not positive; expected a step of 1 or more (or null), positions in window order";
        }
        return null;
    }

    /** The positions of a window of {@code contextSize} tokens the slice keeps, in order (Python's range(n)[slice(...)]). */
    public int[] positions(int contextSize) {
        Integer start = values.get(0);
        Integer end = values.size() > 1 ? values.get(1) : null;
        if (values.size() == 1) {   // slice(x) is slice(None, x)
            end = start;
            start = null;
        }
        int step = values.size() > 2 && values.get(2) != null ? values.get(2) : 1;
        int from = start == null ? 0 : bound(start, contextSize);
        int to = end == null ? contextSize : bound(end, contextSize);
        return IntStream.iterate(from, p -> p < to, p -> p + step).toArray();
    }

    private static int bound(int index, int contextSize) {
        return Math.max(0, Math.min(contextSize, index < 0 ? index + contextSize : index));
    }

    @JsonValue
    List<Integer> json() {
        return values;
    }

    @Override
    public String toString() {
        return Arrays.toString(values.toArray());
    }
}
