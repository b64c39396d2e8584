package dev.saeforge.data;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a {@link TextStream} reads next: pass {@code epoch} over the data, the {@code shard}-th
 * file of that epoch's order, and {@code row} rows into it (every row counts: blank, malformed and
 * held-out ones too, so that a position names the same row however the rows were filtered).
 */
public record TextPosition(long epoch, int shard, long row) {
    public static final TextPosition START = new TextPosition(0, 0, 0);

    public TextPosition {
        if (epoch < 0 || shard < 0 || row < 0) {
            throw new IllegalArgumentException("a text position has no negative parts, got epoch " + epoch + ", shard " + shard + ", row " + row);
        }
    }

    Map<String, Object> toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("epoch", epoch);
        out.put("shard", shard);
        out.put("row", row);
        return out;
    }

    static TextPosition fromJson(Object value, String where) {
        if (value instanceof Map<?, ?> map && map.get("epoch") instanceof Number epoch && map.get("shard") instanceof Number shard
                && map.get("row") instanceof Number row) {
            return new TextPosition(epoch.longValue(), shard.intValue(), row.longValue());
        }
        throw new IllegalArgumentException(where + " needs a text position {epoch, shard, row}, got " + value);
    }
}
