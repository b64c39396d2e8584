package dev.saeforge.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One SAE a run trains, with everything that is its own: its name, hook, SAE settings, the
 * optimiser settings spec.training gives it after its own overrides, and its initialisation seed.
 * A run's SAEs are spec.saes (or the single spec.hook + spec.sae, named after the run), each
 * expanded over the spec.sweep grid.
 *
 * @param path the field path of the entry it came from, for messages: "spec.saes[2]", or "spec" for spec.sae
 */
public record SaeDefinition(String path, String name, String hook, SaeSpec sae, TrainingSpec training, long seed) {
    private static final ObjectMapper JSON = Mappers.json();

    /** Where this SAE's settings are: "spec.saes[2].sae" or "spec.sae". */
    public String saePath() {
        return path + ".sae";
    }

    /** Where its hook is: "spec.saes[2].hook" or "spec.hook". */
    public String hookPath() {
        return path + ".hook";
    }

    /** The SAEs of a valid run, in order: each spec.saes entry (or spec.sae) expanded over spec.sweep. */
    public static List<SaeDefinition> all(TrainingRun run) {
        return all(run.getSpec(), run.getMetadata().getName());
    }

    /** The SAEs of the valid spec of run {@code runName}, in order, as {@link #all(TrainingRun)} gives them. */
    public static List<SaeDefinition> all(TrainingRunSpec spec, String runName) {
        List<Problem> problems = new ArrayList<>();
        List<SaeDefinition> out = expand(spec, runName, problems);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(problems.get(0).toString());
        }
        return out;
    }

    /**
     * The initialisation seed of the SAE {@code name} in a run seeded {@code runSeed}: a run's SAEs
     * start from different weights, and an SAE starts from the same weights in any run that holds
     * it under the same name and seed.
     */
    public static long seed(long runSeed, String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return new SplittableRandom(runSeed ^ h).nextLong();
    }

    /** Expands and checks the SAEs of {@code spec}, adding what is wrong to {@code problems}. */
    static List<SaeDefinition> expand(TrainingRunSpec spec, String runName, List<Problem> problems) {
        List<SaeDefinition> bases = new ArrayList<>();
        boolean listed = spec.saes != null && !spec.saes.isEmpty();
        if (listed) {
            if (spec.sae != null) {
                problems.add(new Problem("spec.sae", "must be left out when spec.saes is set; give each SAE its own sae"));
            }
            if (spec.hook != null) {
                problems.add(new Problem("spec.hook", "must be left out when spec.saes is set; give each SAE its own hook"));
            }
            for (int i = 0; i < spec.saes.size(); i++) {
                SaeEntrySpec entry = spec.saes.get(i);
                if (entry == null || entry.sae == null || entry.name == null) {
                    continue; // reported by the schema check
                }
                String path = "spec.saes[" + i + "]";
                bases.add(new SaeDefinition(path, entry.name, entry.hook, entry.sae, merge(spec.training, entry.training), 0));
            }
        } else if (spec.sae == null) {
            problems.add(new Problem("spec.sae", "is required (or list the SAEs in spec.saes)"));
        } else {
            bases.add(new SaeDefinition("spec", runName == null ? "sae" : runName, spec.hook, spec.sae, spec.training, 0));
        }
        Map<String, List<Double>> grid = checkedGrid(spec.sweep, problems);
        List<SaeDefinition> expanded = new ArrayList<>();
        for (SaeDefinition base : bases) {
            expanded.addAll(sweep(ownFieldsOnly(base, grid, problems), grid, problems));
        }
        Set<String> names = new HashSet<>();
        List<SaeDefinition> out = new ArrayList<>();
        for (SaeDefinition d : expanded) {
            if (!names.add(d.name())) {
                problems.add(new Problem(d.path() + ".name", "\"" + d.name() + "\" names another SAE of this run too; expected unique names"));
            }
            out.add(new SaeDefinition(d.path(), d.name(), d.hook(), d.sae(), d.training(), seed(spec.training.seed, d.name())));
        }
        return out;
    }

    /**
     * {@code base} with its architecture's defaults filled in, after reporting the fields of other
     * architectures that it, or the sweep, sets: they would otherwise be silently ignored.
     */
    private static SaeDefinition ownFieldsOnly(SaeDefinition base, Map<String, List<Double>> grid, List<Problem> problems) {
        SaeSpec.Architecture architecture = base.sae().architecture;
        String because = "; " + base.saePath() + ".architecture is " + architecture.value();
        for (String field : base.sae().foreignFields()) {
            problems.add(new Problem(base.saePath() + "." + field, "belongs to " + SaeSpec.Architecture.owners(field) + because));
        }
        for (String key : grid.keySet()) {
            if (SaeSpec.Architecture.allFields().contains(key) && !architecture.fields().contains(key)) {
                problems.add(new Problem("spec.sweep." + key, "belongs to " + SaeSpec.Architecture.owners(key) + because));
            }
        }
        return new SaeDefinition(base.path(), base.name(), base.hook(), base.sae().withDefaults(), base.training(), base.seed());
    }

    /** The run's training settings with an SAE's own overrides; an SAE that sets lr and not lrEnd ends at its lr/10. */
    private static TrainingSpec merge(TrainingSpec run, SaeTrainingSpec own) {
        TrainingSpec merged = JSON.convertValue(JSON.valueToTree(run), TrainingSpec.class);
        if (own == null) {
            return merged;
        }
        ObjectNode overrides = JSON.valueToTree(own);
        if (own.lr != null && own.lrEnd == null) {
            overrides.put("lrEnd", BigDecimal.valueOf(own.lr).divide(BigDecimal.TEN).doubleValue());
        }
        ObjectNode tree = JSON.valueToTree(merged);
        tree.setAll(overrides);
        return JSON.convertValue(tree, TrainingSpec.class);
    }

    /**
     * spec.sweep when every axis is a numeric field of an SAE's sae or training with values that
     * field accepts; otherwise the problems, each reported once however many SAEs the run lists,
     * and an empty grid.
     */
    private static Map<String, List<Double>> checkedGrid(Map<String, List<Double>> grid, List<Problem> problems) {
        if (grid == null) {
            return Map.of();
        }
        int before = problems.size();
        for (Map.Entry<String, List<Double>> axis : grid.entrySet()) {
            String path = "spec.sweep." + axis.getKey();
            Field field = sweepableField(axis.getKey());
            if (field == null) {
                problems.add(new Problem(path, "is not a numeric field of an SAE's sae or training; expected one of "
                        + String.join(", ", sweepable())));
            } else if (axis.getValue() == null || axis.getValue().isEmpty()) {
                problems.add(new Problem(path, "is empty; expected a list of values"));
            } else {
                for (Double value : axis.getValue()) {
                    if (value == null) {
                        problems.add(new Problem(path, "holds an empty value; expected numbers"));
                    } else {
                        SchemaCheck.checkValue(field, value, format(value), path, problems);
                    }
                }
            }
        }
        return problems.size() == before ? grid : Map.of();
    }

    /** {@code base} at every point of a checked grid, named base-key-value...; just {@code base} without a sweep. */
    private static List<SaeDefinition> sweep(SaeDefinition base, Map<String, List<Double>> grid, List<Problem> problems) {
        List<SaeDefinition> points = List.of(base);
        if (grid.isEmpty()) {
            return points; // its name is checked where it is written
        }
        for (Map.Entry<String, List<Double>> axis : grid.entrySet()) {
            String key = axis.getKey();
            boolean saeField = sweepableField(key).getDeclaringClass() == SaeSpec.class;
            List<SaeDefinition> next = new ArrayList<>();
            for (SaeDefinition point : points) {
                for (Double value : axis.getValue()) {
                    String name = point.name() + "-" + key.toLowerCase(Locale.ROOT) + "-" + format(value);
                    next.add(saeField
                            ? new SaeDefinition(point.path(), name, point.hook(), with(point.sae(), key, value, SaeSpec.class), point.training(), 0)
                            : new SaeDefinition(point.path(), name, point.hook(), point.sae(), withTraining(point.training(), key, value), 0));
                }
            }
            points = next;
        }
        for (SaeDefinition point : points) {
            if (!point.name().matches(SaeEntrySpec.NAME_PATTERN)) {
                problems.add(new Problem("spec.sweep", "gives the SAE name \"" + point.name() + "\", which is not " + "a valid SAE name ("
                        + "lower-case letters, digits, '-' and '.', at most 63); shorten " + point.path() + ".name or the run's name"));
                return List.of();
            }
        }
        return points;
    }

    /** The numeric fields a sweep may vary: those of SaeSpec, then those of SaeTrainingSpec. */
    private static List<Field> sweepableFields() {
        List<Field> out = new ArrayList<>();
        for (Class<?> type : List.of(SaeSpec.class, SaeTrainingSpec.class)) {
            for (Field f : type.getFields()) {
                Class<?> t = f.getType();
                boolean numeric = t == int.class || t == long.class || t == double.class || Number.class.isAssignableFrom(t);
                if (numeric && !Modifier.isStatic(f.getModifiers())) {
                    out.add(f);
                }
            }
        }
        return out;
    }

    /** The field a sweep key names, or null if a sweep cannot vary it. */
    private static Field sweepableField(String key) {
        return sweepableFields().stream().filter(f -> f.getName().equals(key)).findFirst().orElse(null);
    }

    /** The names of the numeric fields a sweep may vary. */
    static List<String> sweepable() {
        return sweepableFields().stream().map(Field::getName).toList();
    }

    private static <T> T with(T value, String key, Double number, Class<T> type) {
        ObjectNode tree = JSON.valueToTree(value);
        tree.set(key, numberNode(number));
        return JSON.convertValue(tree, type);
    }

    private static TrainingSpec withTraining(TrainingSpec training, String key, Double number) {
        ObjectNode tree = JSON.valueToTree(training);
        tree.set(key, numberNode(number));
        if (key.equals("lr")) {
            tree.put("lrEnd", BigDecimal.valueOf(number).divide(BigDecimal.TEN).doubleValue());
        }
        return JSON.convertValue(tree, TrainingSpec.class);
    }

    /** A checked sweep value as JSON: an integer where it is one, so integral fields take it. */
    private static JsonNode numberNode(double number) {
        return number == Math.rint(number) && Math.abs(number) < 1e15
                ? JSON.getNodeFactory().numberNode((long) number)
                : JSON.getNodeFactory().numberNode(number);
    }

    /** 1 for 1.0, 0.3 for 0.3, 0.0003 for 3e-4: short, and valid in a name. */
    static String format(Double value) {
        if (value == null) {
            return "null";
        }
        return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    }

    /** The field that sets how sparse this SAE is: l0Coefficient (or targetL0 when set), k or l1Coefficient. */
    public String sparsityField() {
        return switch (sae.architecture) {
            case JUMPRELU -> sae.targetL0 != null ? "targetL0" : "l0Coefficient";
            case TOPK, BATCHTOPK, MATRYOSHKA_BATCHTOPK -> "k";
            case STANDARD -> "l1Coefficient";
        };
    }

    /** For messages and tables: the fields that differ between SAEs, e.g. "l0Coefficient 0.3". */
    public Map<String, Object> describe() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", name);
        out.put("hook", hook);
        out.put("architecture", JSON.valueToTree(sae).path("architecture").asText());
        out.put("dSae", sae.dSae != null ? sae.dSae : sae.expansionFactor + "x");
        out.put(sparsityField(), JSON.valueToTree(sae).path(sparsityField()));
        out.put("lr", training.lr);
        return out;
    }
}
