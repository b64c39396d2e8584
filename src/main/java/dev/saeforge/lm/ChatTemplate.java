package dev.saeforge.lm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.InvalidArgumentException;
import com.hubspot.jinjava.interpret.InvalidInputException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.interpret.TemplateSyntaxException;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A model's {@code chat_template} from its tokenizer_config.json, rendered as Hugging Face's
 * {@code apply_chat_template(conversation)} renders it for SAELens' use_chat_formatting: Jinja with
 * trim_blocks and lstrip_blocks, no generation prompt, no tools, the tokenizer's special tokens as
 * variables, and {@code raise_exception}. The engine is Jinjava; what Jinja templates take from
 * Python and Jinjava lacks is added here: the str methods {@code startswith}, {@code endswith},
 * {@code split}, {@code strip}, {@code lstrip}, {@code rstrip} (an EL resolver), and two forms its
 * parser reads otherwise (see {@link #normalise}).
 */
public final class ChatTemplate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "pad_token", "unk_token");
    /** Python's reversed slice, which Jinjava's parser does not read; Jinja's reverse filter means the same. */
    private static final Pattern REVERSED = Pattern.compile("\\[\\s*:\\s*:\\s*-1\\s*]");
    /** namespace(...) without nested parentheses: its keyword arguments' values are parenthesised. */
    private static final Pattern NAMESPACE = Pattern.compile("namespace\\(([^()]*)\\)");
    private static final Pattern KEYWORD = Pattern.compile("^\\s*(\\w+)\\s*=(.*)$", Pattern.DOTALL);

    private final Map<String, Object> specialTokens;
    private final Jinjava jinjava;
    /** The template parsed once: each conversation is rendered from this tree, not from the source again. */
    private final Node tree;
    /** What parsing reported (a syntax error is fatal), reported again with each rendering as Jinjava would. */
    private final List<TemplateError> parseErrors;

    ChatTemplate(String source, Map<String, Object> specialTokens) {
        this.specialTokens = specialTokens;
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        JinjavaInterpreter parser = jinjava.newInterpreter();
        this.tree = parser.parse(normalise(source));
        this.parseErrors = parser.getErrorsCopy();
    }

    /**
     * The chat template of the model in {@code dir} ({@code model} names it in messages); a model
     * without one in its tokenizer_config.json is refused, since spec.dataset.chatTemplate needs it.
     */
    public static ChatTemplate read(Path dir, String model) throws IOException {
        Path file = dir.resolve(SpecialTokens.TOKENIZER_CONFIG);
        if (!Files.isRegularFile(file)) {
            throw new InvalidModelException("spec.dataset.chatTemplate is true, but model " + model + " has no "
                    + SpecialTokens.TOKENIZER_CONFIG + " to read its chat_template from");
        }
        JsonNode config = JSON.readTree(ModelText.read(file, ModelText.SMALL_FILE_BYTES));
        JsonNode template = config.get("chat_template");
        if (template == null || !template.isTextual() || template.asText().isBlank()) {
            throw new InvalidModelException("spec.dataset.chatTemplate is true, but model " + model + " has no chat_template in "
                    + file + (template == null || template.isNull() ? "" : " (it is a JSON " + template.getNodeType().name().toLowerCase()
                    + ", not a template string)") + "; use a model with a chat template (an instruct model) or set chatTemplate: false");
        }
        Map<String, Object> tokens = new HashMap<>();
        for (String name : SPECIAL_TOKENS) {
            JsonNode token = config.get(name);
            String content = token == null || token.isNull() ? null : token.isTextual() ? token.asText() : token.path("content").asText(null);
            if (content != null) {
                tokens.put(name, content);
            }
        }
        return new ChatTemplate(template.asText(), tokens);
    }

    /**
     * The text of {@code messages} (each a map with a role and a content), as the template writes
     * it; a template that fails or calls raise_exception is an {@link IllegalArgumentException}
     * with its message.
     */
    public String render(List<?> messages) {
        Map<String, Object> variables = new HashMap<>(specialTokens);
        StringBuilder output = new StringBuilder();
        variables.put("messages", messages);
        variables.put("add_generation_prompt", false);
        List<String> fatal = renderTree(variables, output).stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL)
                .map(e -> raised(e).orElse(e.getMessage()) + (e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : ""))
                .toList();
        if (!fatal.isEmpty()) {
            throw new IllegalArgumentException("the chat template failed: " + String.join("; ", fatal));
        }
        return output.toString();
    }

    /**
     * Renders the parsed tree into {@code output} as Jinjava's renderForResult renders a source,
     * and returns the errors it would report: parsing's, rendering's, and an exception that ended
     * rendering, as the error Jinjava makes of it.
     */
    private List<TemplateError> renderTree(Map<String, Object> variables, StringBuilder output) {
        JinjavaConfig config = jinjava.getGlobalConfig();
        JinjavaInterpreter interpreter = config.getInterpreterFactory().newInstance(jinjava,
                new Context(jinjava.getGlobalContextCopy(), variables, config.getDisabled()), config);
        TemplateError ended = null;
        try {
            String rendered = interpreter.render(tree);
            output.append(!config.isKeepTrailingNewline() && rendered.endsWith("\n") ? rendered.substring(0, rendered.length() - 1) : rendered);
        } catch (TemplateSyntaxException e) {
            ended = TemplateError.fromException(e);
        } catch (InterpretException e) {
            ended = TemplateError.fromSyntaxError(e);
        } catch (InvalidArgumentException e) {
            ended = TemplateError.fromInvalidArgumentException(e);
        } catch (InvalidInputException e) {
            ended = TemplateError.fromInvalidInputException(e);
        } catch (Exception e) {
            ended = TemplateError.fromException(e);
        } finally {
            jinjava.getGlobalContext().reset();
        }
        List<TemplateError> errors = new ArrayList<>();
        if (ended != null) {
            errors.add(ended);
        }
        errors.addAll(parseErrors);
        errors.addAll(interpreter.getErrorsCopy());
        return errors;
    }

    /** Jinja's raise_exception, as transformers defines it for chat templates. */
    public static String raiseException(String message) {
        throw new Raised(message);
    }

    /** The message a template gave raise_exception, which Jinjava reports only as the error's cause. */
    private static Optional<String> raised(TemplateError error) {
        for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
            if (cause instanceof Raised raised) {
                return Optional.of("raise_exception: " + raised.getMessage());
            }
        }
        return Optional.empty();
    }

    private static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Rewrites the two Jinja forms Jinjava's parser reads otherwise into ones it reads as Jinja
     * does: {@code x[::-1]} becomes {@code x|reverse}, and a keyword argument of namespace(...)
     * gets its value parenthesised, since Jinjava binds {@code a=n|length - 1} as {@code (a=n|length) - 1}.
     */
    static String normalise(String template) {
        String reversed = REVERSED.matcher(template).replaceAll("|reverse");
        Matcher call = NAMESPACE.matcher(reversed);
        return call.replaceAll(match -> Matcher.quoteReplacement("namespace(" + splitArguments(match.group(1)).stream()
                .map(argument -> {
                    Matcher keyword = KEYWORD.matcher(argument);
                    return keyword.matches() ? keyword.group(1) + "=(" + keyword.group(2).strip() + ")" : argument;
                })
                .collect(Collectors.joining(",")) + ")"));
    }

    /** Arguments split at commas outside brackets and quotes. */
    private static List<String> splitArguments(String arguments) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        char quote = 0;
        int start = 0;
        for (int i = 0; i < arguments.length(); i++) {
            char c = arguments.charAt(i);
            if (quote != 0) {
                if (c == '\\') {
                    i++;
                } else if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(arguments.substring(start, i));
                start = i + 1;
            }
        }
        out.add(arguments.substring(start));
        return out;
    }

    /** Python's str methods that chat templates call, on Java strings, with Python's meaning. */
    static final class PythonStrings extends ELResolver {
        @Override
        public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
            if (!(base instanceof String text) || !(method instanceof String name)) {
                return null;
            }
            Object[] args = params == null ? new Object[0] : params;
            Object out = switch (name) {
                case "startswith" -> args.length == 1 ? text.startsWith(string(args[0], name)) : null;
                case "endswith" -> args.length == 1 ? text.endsWith(string(args[0], name)) : null;
                case "strip" -> strip(text, chars(args, name), true, true);
                case "lstrip" -> strip(text, chars(args, name), true, false);
                case "rstrip" -> strip(text, chars(args, name), false, true);
                case "split" -> args.length == 0 || args[0] == null
                        ? text.isBlank() ? List.of() : List.of(strip(text, null, true, true).split("\\s+"))
                        : split(text, string(args[0], name));
                default -> null;
            };
            if (out != null) {
                context.setPropertyResolved(true);
            }
            return out;
        }

        private static String string(Object value, String method) {
            if (!(value instanceof String s)) {
                throw new IllegalArgumentException(method + "() takes a string, not " + value);
            }
            return s;
        }

        /** The characters to strip: Python's whitespace when none (or None) is given. */
        private static String chars(Object[] args, String method) {
            return args.length == 0 || args[0] == null ? null : string(args[0], method);
        }

        private static String strip(String text, String chars, boolean left, boolean right) {
            int start = 0;
            int end = text.length();
            while (left && start < end && strips(text.charAt(start), chars)) {
                start++;
            }
            while (right && end > start && strips(text.charAt(end - 1), chars)) {
                end--;
            }
            return text.substring(start, end);
        }

        private static boolean strips(char c, String chars) {
            return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
        }

        private static List<String> split(String text, String separator) {
            if (separator.isEmpty()) {
                throw new IllegalArgumentException("split() got an empty separator");
            }
            List<String> parts = new ArrayList<>();
            int from = 0;
            for (int at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, from)) {
                parts.add(text.substring(from, at));
                from = at + separator.length();
            }
            parts.add(text.substring(from));
            return parts;
        }

        @Override
        public Object getValue(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public Class<?> getType(ELContext context, Object base, Object property) {
            return null;
        }

        @Override
        public void setValue(ELContext context, Object base, Object property, Object value) {
            // read-only: the template's strings are not written to
        }

        @Override
        public boolean isReadOnly(ELContext context, Object base, Object property) {
            return true;
        }

        @Override
        public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
            return null;
        }

        @Override
        public Class<?> getCommonPropertyType(ELContext context, Object base) {
            return null;
        }
    }
}
