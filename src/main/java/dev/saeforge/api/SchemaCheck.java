package dev.saeforge.api;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.AnnotatedField;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Quantity;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The checks that follow from the API classes themselves, so that the CRD and the CLI refuse the
 * same things: unknown fields, wrong types and enum values (on the YAML tree, before binding, so
 * that every problem is reported), and the fabric8 {@code @Required/@Min/@Max/@Pattern}
 * constraints that also go into the CRD's OpenAPI schema (on the bound object).
 */
final class SchemaCheck {
    private static final ObjectMapper MAPPER = Mappers.json();
    private static final Map<JavaType, Map<String, BeanPropertyDefinition>> PROPERTIES = new ConcurrentHashMap<>();
    private static final Map<String, java.util.regex.Pattern> PATTERNS = new ConcurrentHashMap<>();
    /** API types bound from a JSON value of more than one shape, with what is wrong with a value (null: nothing). */
    private static final Map<Class<?>, Function<JsonNode, String>> VALUE_TYPES = Map.of(
            ExcludedTokens.class, ExcludedTokens::problem,
            SeqposSlice.class, SeqposSlice::problem);

    private SchemaCheck() {
    }

    /**
     * Unknown fields, type mismatches and enum values anywhere in {@code node}. Each offending
     * field is removed from its object after it is reported, so that the rest of the document
     * can still be bound and checked: one run of validate reports every problem.
     *
     * @return whether {@code node} itself may stay (objects always may, once pruned)
     */
    static boolean checkTree(JsonNode node, JavaType type, String path, List<Problem> out) {
        if (node == null || node.isNull()) {
            if (type.isPrimitive() || VALUE_TYPES.containsKey(type.getRawClass())) {
                out.add(new Problem(path, "must not be null"));
                return false;
            }
            return true;
        }
        Class<?> raw = type.getRawClass();
        String problem = null;
        if (raw == String.class) {
            problem = node.isValueNode() && !node.isBoolean() ? null : describe(node) + " is not a string";
        } else if (raw == boolean.class || raw == Boolean.class) {
            problem = node.isBoolean() ? null : describe(node) + " is not true or false";
        } else if (raw == int.class || raw == Integer.class || raw == long.class || raw == Long.class) {
            problem = integralProblem(node, raw == int.class || raw == Integer.class);
        } else if (raw == double.class || raw == Double.class || raw == float.class || raw == Float.class) {
            problem = number(node) != null ? null : describe(node) + " is not a number";
        } else if (raw == Quantity.class) {
            problem = node.isTextual() || node.isNumber() ? null : describe(node) + " is not a quantity; expected e.g. 8, 500m, 64Gi";
        } else if (VALUE_TYPES.containsKey(raw)) {
            problem = VALUE_TYPES.get(raw).apply(node);
        } else if (raw.isEnum()) {
            List<String> names = enumNames(raw);
            problem = node.isTextual() && names.contains(node.asText()) ? null
                    : describe(node) + " is not one of " + String.join(", ", names);
        } else if (type.isCollectionLikeType()) {
            if (!node.isArray()) {
                problem = describe(node) + " is not a list";
            } else {
                boolean keep = true;
                for (int i = 0; i < node.size(); i++) {
                    keep &= checkTree(node.get(i), type.getContentType(), path + "[" + i + "]", out);
                }
                return keep;
            }
        } else if (!node.isObject()) {
            problem = describe(node) + " is not " + (type.isMapLikeType() ? "a map" : "an object");
        } else if (type.isMapLikeType()) {
            node.fields().forEachRemaining(e -> checkTree(e.getValue(), type.getContentType(), path + "." + e.getKey(), out));
        } else {
            checkObject(node, type, path, out);
        }
        if (problem != null) {
            out.add(new Problem(path, problem));
        }
        return problem == null;
    }

    private static void checkObject(JsonNode node, JavaType type, String path, List<Problem> out) {
        Map<String, BeanPropertyDefinition> properties = properties(type);
        // ObjectMeta keeps unknown keys in additionalProperties; we hold it to its real fields anyway.
        boolean deep = type.getRawClass() != ObjectMeta.class;
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String fieldPath = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
            BeanPropertyDefinition property = properties.get(field.getKey());
            if (property == null) {
                out.add(new Problem(fieldPath, unknownField(field.getKey(), properties.keySet())));
                it.remove();
            } else if (deep && !checkTree(field.getValue(), property.getPrimaryType(), fieldPath, out)) {
                it.remove();
            }
        }
    }

    /** @Required, @Min, @Max, @Pattern and quantity syntax on a bound object of an API class. */
    static void checkConstraints(Object value, String path, List<Problem> out) {
        JavaType type = MAPPER.constructType(value.getClass());
        for (BeanPropertyDefinition property : properties(type).values()) {
            AnnotatedField field = property.getField();
            if (field == null) {
                continue;
            }
            String fieldPath = path + "." + property.getName();
            Object fieldValue = field.getValue(value);
            if (fieldValue == null) {
                if (field.hasAnnotation(Required.class)) {
                    out.add(new Problem(fieldPath, "is required"));
                }
                continue;
            }
            if (fieldValue instanceof Number number) {
                checkRange(field.getAnnotation(Min.class), field.getAnnotation(Max.class), number.doubleValue(), number.toString(),
                        fieldPath, out);
            } else if (fieldValue instanceof String text) {
                checkPattern(field, text, fieldPath, out);
            } else if (fieldValue instanceof Quantity quantity) {
                checkQuantity(quantity, fieldPath, out);
            } else if (fieldValue instanceof List<?> list && isApiObject(property.getPrimaryType().getContentType().getRawClass())) {
                // The entries of spec.saes: the CRD checks each one, so the CLI does too.
                for (int i = 0; i < list.size(); i++) {
                    String entryPath = fieldPath + "[" + i + "]";
                    if (list.get(i) == null) {
                        out.add(new Problem(entryPath, "is empty; expected an object"));
                    } else {
                        checkConstraints(list.get(i), entryPath, out);
                    }
                }
            } else if (isApiObject(fieldValue.getClass())) {
                checkConstraints(fieldValue, fieldPath, out);
            }
        }
    }

    private static boolean isApiObject(Class<?> type) {
        return type.getPackage() == SchemaCheck.class.getPackage() && !type.isEnum() && !VALUE_TYPES.containsKey(type);
    }

    /**
     * Whether {@code value}, given for the numeric field {@code field} of an API class somewhere
     * other than the field itself (a spec.sweep value), is one the field accepts: an integer for
     * an integral field, within its {@code @Min/@Max}. {@code shown} is the value as the user wrote it.
     */
    static void checkValue(java.lang.reflect.Field field, double value, String shown, String path, List<Problem> out) {
        Class<?> type = field.getType();
        boolean integral = type == int.class || type == Integer.class || type == long.class || type == Long.class;
        if (integral && value != Math.rint(value)) {
            out.add(new Problem(path, shown + " is not an integer"));
            return;
        }
        if ((type == int.class || type == Integer.class) && Math.abs(value) > Integer.MAX_VALUE) {
            out.add(new Problem(path, shown + " is too large; at most " + Integer.MAX_VALUE));
            return;
        }
        checkRange(field.getAnnotation(Min.class), field.getAnnotation(Max.class), value, shown, path, out);
    }

    private static void checkRange(Min min, Max max, double v, String shown, String path, List<Problem> out) {
        if (!Double.isFinite(v)) {
            out.add(new Problem(path, "must be a finite number, got " + shown));
            return;
        }
        if (min != null && (min.inclusive() ? v < min.value() : v <= min.value())) {
            out.add(new Problem(path, "must be " + (min.inclusive() ? ">= " : "> ") + plain(min.value()) + ", got " + shown));
        }
        if (max != null && (max.inclusive() ? v > max.value() : v >= max.value())) {
            out.add(new Problem(path, "must be " + (max.inclusive() ? "<= " : "< ") + plain(max.value()) + ", got " + shown));
        }
    }

    private static void checkPattern(AnnotatedField field, String text, String path, List<Problem> out) {
        Pattern pattern = field.getAnnotation(Pattern.class);
        if (pattern == null || PATTERNS.computeIfAbsent(pattern.value(), java.util.regex.Pattern::compile).matcher(text).matches()) {
            return;
        }
        Expect expect = field.getAnnotation(Expect.class);
        out.add(new Problem(path, expect == null
                ? "\"" + text + "\" does not match " + pattern.value()
                : "\"" + text + "\" is not " + expect.what() + "; expected " + expect.form()));
    }

    private static void checkQuantity(Quantity quantity, String path, List<Problem> out) {
        try {
            if (Quantity.getAmountInBytes(quantity).compareTo(BigDecimal.ZERO) < 0) {
                out.add(new Problem(path, "must not be negative, got " + quantity));
            }
        } catch (RuntimeException e) {
            out.add(new Problem(path, "\"" + quantity + "\" is not a quantity; expected e.g. 8, 500m, 64Gi"));
        }
    }

    private static String integralProblem(JsonNode node, boolean isInt) {
        BigDecimal n = number(node);
        if (n == null) {
            return describe(node) + " is not an integer";
        }
        try {
            long v = n.longValueExact();
            return isInt && (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE)
                    ? node.asText() + " is too large; at most " + Integer.MAX_VALUE : null;
        } catch (ArithmeticException e) {
            return node.asText() + " is not an integer";
        }
    }

    /**
     * A number, or a string that is one: YAML 1.1 reads {@code 3e-4} (no dot) as a string, and
     * Jackson coerces it when binding, so accept it here too.
     */
    private static BigDecimal number(JsonNode node) {
        if (node.isNumber()) {
            return node.isFloatingPointNumber() && !Double.isFinite(node.doubleValue()) ? null : node.decimalValue();
        }
        if (node.isTextual()) {
            try {
                return new BigDecimal(node.asText().trim());
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    static Map<String, BeanPropertyDefinition> properties(JavaType type) {
        return PROPERTIES.computeIfAbsent(type, t -> {
            BeanDescription description = MAPPER.getDeserializationConfig().introspect(t);
            Map<String, BeanPropertyDefinition> byName = new LinkedHashMap<>();
            for (BeanPropertyDefinition property : description.findProperties()) {
                if (property.hasField() || property.hasSetter()) {
                    byName.put(property.getName(), property);
                }
            }
            return byName;
        });
    }

    static JavaType type(Class<?> raw) {
        return MAPPER.constructType(raw);
    }

    static List<String> enumNames(Class<?> enumType) {
        return Arrays.stream(enumType.getEnumConstants())
                .map(c -> MAPPER.convertValue(c, String.class))
                .collect(Collectors.toList());
    }

    private static String unknownField(String name, java.util.Collection<String> known) {
        String lower = name.toLowerCase();
        String closest = known.stream()
                .filter(k -> k.toLowerCase().startsWith(lower)
                        || editDistance(k.toLowerCase(), lower) <= Math.max(2, name.length() / 3))
                .min(Comparator.comparingInt(k -> editDistance(k.toLowerCase(), lower)))
                .orElse(null);
        return closest != null
                ? "unknown field; did you mean \"" + closest + "\"?"
                : "unknown field; expected one of " + String.join(", ", known);
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static String describe(JsonNode node) {
        if (node.isTextual()) {
            return node.asText().isEmpty() ? "an empty value" : "\"" + node.asText() + "\"";
        }
        if (node.isObject()) {
            return "an object";
        }
        if (node.isArray()) {
            return "a list";
        }
        return node.asText();
    }

    private static String plain(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }
}
