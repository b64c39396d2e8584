package dev.saeforge.lm;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HookPointTest {
    @Test
    void parsesEveryTransformerLensName() {
        for (HookPoint.Site site : HookPoint.Site.values()) {
            String name = "blocks.28." + site.suffix;
            assertThat(HookPoint.parse(name)).isEqualTo(new HookPoint(28, site));
            assertThat(HookPoint.parse(name).toString()).isEqualTo(name);
        }
    }

    @Test
    void theMlpPostHookIsIntermediateWide() {
        Qwen3Config config = Qwen3ConfigTest.readQwen3_0_6BConfig();
        assertThat(HookPoint.parse("blocks.3.mlp.hook_post").width(config)).isEqualTo(3072);
        assertThat(HookPoint.parse("blocks.3.hook_mlp_out").width(config)).isEqualTo(1024);
    }

    @Test
    void blocks28DoesNotExistOnQwen3_0_6B() {
        Qwen3Config config = Qwen3ConfigTest.readQwen3_0_6BConfig();

        assertThatThrownBy(() -> HookPoint.parse("blocks.28.hook_mlp_out").checkAgainst(config, "Qwen/Qwen3-0.6B"))
                .isInstanceOf(InvalidModelException.class)
                .hasMessage("hook blocks.28.hook_mlp_out needs layer 28, but Qwen/Qwen3-0.6B has 28 layers (blocks.0 to blocks.27)");
    }

    @Test
    void otherNamesAreRefusedWithTheForm() {
        for (String bad : new String[]{"blocks.1.hook_q", "blocks.01.hook_mlp_out", "hook_mlp_out", "blocks.-1.hook_resid_pre", ""}) {
            assertThatThrownBy(() -> HookPoint.parse(bad)).as(bad)
                    .hasMessage("hook \"" + bad + "\" is not a Qwen3 hook point; expected blocks.<layer>.<hook_resid_pre|hook_attn_out|"
                            + "hook_resid_mid|mlp.hook_post|hook_mlp_out|hook_resid_post>");
        }
    }
}
