package dev.saeforge.api;

import dev.saeforge.lm.HookPoint;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The spec's hook pattern and its form in messages accept exactly the sites the language model can hook. */
class HookPatternTest {
    private static final Pattern HOOK = Pattern.compile(TrainingRunSpec.HOOK_PATTERN);

    /** Hook names of TransformerLens and near misses that the Qwen3 program does not read out. */
    private static final List<String> OTHER_SITES = List.of("hook_embed", "hook_attn_in", "hook_mlp_in", "attn.hook_z", "attn.hook_q",
            "mlp.hook_pre", "ln2.hook_normalized", "hook_resid_postx", "mlp_hook_post", "mlpXhook_post", "HOOK_MLP_OUT", "");

    @Test
    void everySiteOfTheLanguageModelIsAcceptedByThePattern() {
        for (HookPoint.Site site : HookPoint.Site.values()) {
            String name = "blocks.12." + site.suffix;
            assertThat(HOOK.matcher(name).matches()).as(name).isTrue();
            assertThat(HookPoint.parse(name)).isEqualTo(new HookPoint(12, site));
        }
    }

    @Test
    void theFormNamesEverySiteAndNoOther() {
        String sites = TrainingRunSpec.HOOK_FORM.replaceFirst("^blocks\\.<layer>\\.<(.*)>$", "$1");
        Set<String> suffixes = Arrays.stream(HookPoint.Site.values()).map(site -> site.suffix).collect(Collectors.toSet());

        assertThat(Set.of(sites.split("\\|"))).isEqualTo(suffixes);
    }

    @Test
    void aNameWithAnyOtherSiteIsRefusedByThePatternAndByTheLanguageModel() {
        for (String site : OTHER_SITES) {
            String name = "blocks.12." + site;
            assertThat(HOOK.matcher(name).matches()).as(name).isFalse();
            assertThatThrownBy(() -> HookPoint.parse(name)).as(name).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
