package dev.saeforge.cli;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.operator.OperatorConfig;
import dev.saeforge.api.SaeEntrySpec;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.SaeTrainingSpec;
import dev.saeforge.api.TrainingSpec;
import dev.saeforge.lm.ChatTemplate;
import dev.saeforge.report.Report;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What a native image cannot discover by itself: the classes that are only reached by
 * reflection. A JVM needs none of this. Everything native-image specific lives here, in
 * application.properties (quarkus.native.*) and, for JNI callbacks from libtorch and the Rust
 * tokenizers, in META-INF/native-image/dev.saeforge/saeforge/.
 */
final class NativeImageRegistrations {
    private NativeImageRegistrations() {
    }

    /**
     * Documents Jackson binds field by field: the TrainingRun (read strictly by {@code SchemaCheck},
     * which also reads the fabric8 validation annotations on its fields) and the operator's
     * configuration. The full hierarchy takes in every spec and status class their fields name;
     * the element classes of lists are named too, and SaeDefinition reads the SAE and training
     * fields a sweep may vary by reflection.
     */
    @RegisterForReflection(targets = {TrainingRun.class, TrainingRunSpec.class, TrainingRunStatus.class, OperatorConfig.class,
            SaeEntrySpec.class, SaeTrainingSpec.class, SaeSpec.class, TrainingSpec.class,
            // report.json, its list elements named, and the naming strategy Jackson makes by reflection for its snake_case keys
            Report.class, Report.SaeSection.class, Report.EvaluationPoint.class, Report.Latent.class, Report.Context.class,
            PropertyNamingStrategies.SnakeCaseStrategy.class},
            registerFullHierarchy = true)
    static final class Documents {
    }

    /**
     * The activation cache's JSON records (cache.json, shard records, manifests), which Jackson
     * reads and writes through their record accessors and canonical constructors, and what
     * {@code saeforge cache ls -o} prints.
     */
    @RegisterForReflection(targets = {dev.saeforge.cache.CacheKey.class, dev.saeforge.cache.CacheLayout.Info.class,
            dev.saeforge.cache.CacheLayout.HookWidth.class, dev.saeforge.cache.CacheLayout.ShardRecord.class,
            dev.saeforge.cache.CacheLayout.IndexManifest.class, dev.saeforge.cache.CacheLayout.Manifest.class,
            CacheCommand.ListCommand.IndexState.class})
    static final class CacheRecords {
    }

    /**
     * The MinIO SDK parses S3's XML answers with simple-xml, which fills the io.minio.messages
     * classes field by field and builds its own label and extractor objects through
     * Class.getConstructor. The message roots are the answers and requests of the calls
     * S3CheckpointStore makes (list, multipart upload, errors, bucket location); their full
     * hierarchy brings the element classes (Item, Contents, Part, Upload, Owner, ...).
     */
    @RegisterForReflection(classNames = {
            "io.minio.messages.ListBucketResultV2", "io.minio.messages.ListBucketResultV1",
            "io.minio.messages.ListVersionsResult", "io.minio.messages.ListObjectsResult",
            "io.minio.messages.InitiateMultipartUploadResult", "io.minio.messages.CompleteMultipartUpload",
            "io.minio.messages.CompleteMultipartUploadResult", "io.minio.messages.ListPartsResult",
            "io.minio.messages.ListMultipartUploadsResult", "io.minio.messages.ErrorResponse",
            "io.minio.messages.LocationConstraint", "io.minio.messages.DeleteRequest", "io.minio.messages.DeleteResult",
            "io.minio.messages.CopyObjectResult", "io.minio.messages.CopyPartResult"},
            registerFullHierarchy = true)
    static final class S3Messages {
    }

    /**
     * Every MinIO call takes an XArgs built by XArgs.builder(), whose builder makes the empty XArgs
     * by reflection: the enclosing class of the builder, then its no-argument constructor. These
     * are the calls the S3 stores make.
     */
    @RegisterForReflection(classNames = {
            "io.minio.GetObjectArgs", "io.minio.GetObjectArgs$Builder", "io.minio.ListObjectsArgs", "io.minio.ListObjectsArgs$Builder",
            "io.minio.PutObjectArgs", "io.minio.PutObjectArgs$Builder", "io.minio.RemoveObjectArgs", "io.minio.RemoveObjectArgs$Builder",
            "io.minio.StatObjectArgs", "io.minio.StatObjectArgs$Builder", "io.minio.UploadObjectArgs", "io.minio.UploadObjectArgs$Builder"})
    static final class S3Calls {
    }

    @RegisterForReflection(classNames = {
            "org.simpleframework.xml.core.AttributeLabel", "org.simpleframework.xml.core.ElementLabel",
            "org.simpleframework.xml.core.ElementArrayLabel", "org.simpleframework.xml.core.ElementListLabel",
            "org.simpleframework.xml.core.ElementMapLabel", "org.simpleframework.xml.core.ElementUnionLabel",
            "org.simpleframework.xml.core.ElementListUnionLabel", "org.simpleframework.xml.core.ElementMapUnionLabel",
            "org.simpleframework.xml.core.TextLabel", "org.simpleframework.xml.core.VersionLabel",
            "org.simpleframework.xml.core.ExtractorFactory$ElementExtractor",
            "org.simpleframework.xml.core.ExtractorFactory$ElementListExtractor",
            "org.simpleframework.xml.core.ExtractorFactory$ElementMapExtractor"})
    static final class SimpleXml {
    }

    /**
     * Jinjava (chat templates, lm.ChatTemplate) builds its filter, test and tag libraries with
     * Class.newInstance, calls each filter and test as a method through its bean resolver, binds
     * its functions (namespace, range, ...) by Class.getDeclaredMethod, and reads loop.index0,
     * loop.first and loop.last from ForLoop's getters. These are the classes of its default
     * libraries (NativeImageRegistrationsTest checks the list against them) and ChatTemplate,
     * whose raiseException is bound the same way.
     */
    @RegisterForReflection(targets = ChatTemplate.class, classNames = {
            "com.google.common.collect.Lists", "com.hubspot.jinjava.lib.exptest.IsBooleanExpTest",
            "com.hubspot.jinjava.lib.exptest.IsContainingAllExpTest", "com.hubspot.jinjava.lib.exptest.IsContainingExpTest",
            "com.hubspot.jinjava.lib.exptest.IsDefinedExpTest", "com.hubspot.jinjava.lib.exptest.IsDivisibleByExpTest",
            "com.hubspot.jinjava.lib.exptest.IsEqExpTest", "com.hubspot.jinjava.lib.exptest.IsEqualToExpTest",
            "com.hubspot.jinjava.lib.exptest.IsEqualsSymbolExpTest", "com.hubspot.jinjava.lib.exptest.IsEvenExpTest",
            "com.hubspot.jinjava.lib.exptest.IsFalseExpTest", "com.hubspot.jinjava.lib.exptest.IsFloatExpTest",
            "com.hubspot.jinjava.lib.exptest.IsGeTest", "com.hubspot.jinjava.lib.exptest.IsGreaterThanExpTest",
            "com.hubspot.jinjava.lib.exptest.IsGreaterThanOrEqualToSymbolExpTest",
            "com.hubspot.jinjava.lib.exptest.IsGreaterThanSymbolExpTest", "com.hubspot.jinjava.lib.exptest.IsGtTest",
            "com.hubspot.jinjava.lib.exptest.IsInExpTest", "com.hubspot.jinjava.lib.exptest.IsIntegerExpTest",
            "com.hubspot.jinjava.lib.exptest.IsIterableExpTest", "com.hubspot.jinjava.lib.exptest.IsLeTest",
            "com.hubspot.jinjava.lib.exptest.IsLessThanExpTest",
            "com.hubspot.jinjava.lib.exptest.IsLessThanOrEqualToSymbolExpTest",
            "com.hubspot.jinjava.lib.exptest.IsLessThanSymbolExpTest", "com.hubspot.jinjava.lib.exptest.IsLowerExpTest",
            "com.hubspot.jinjava.lib.exptest.IsLtTest", "com.hubspot.jinjava.lib.exptest.IsMappingExpTest",
            "com.hubspot.jinjava.lib.exptest.IsNeExpTest", "com.hubspot.jinjava.lib.exptest.IsNoneExpTest",
            "com.hubspot.jinjava.lib.exptest.IsNotEqualToSymbolExpTest", "com.hubspot.jinjava.lib.exptest.IsNumberExpTest",
            "com.hubspot.jinjava.lib.exptest.IsOddExpTest", "com.hubspot.jinjava.lib.exptest.IsSameAsExpTest",
            "com.hubspot.jinjava.lib.exptest.IsSequenceExpTest", "com.hubspot.jinjava.lib.exptest.IsStringContainingExpTest",
            "com.hubspot.jinjava.lib.exptest.IsStringExpTest", "com.hubspot.jinjava.lib.exptest.IsStringStartingWithExpTest",
            "com.hubspot.jinjava.lib.exptest.IsTrueExpTest", "com.hubspot.jinjava.lib.exptest.IsTruthyExpTest",
            "com.hubspot.jinjava.lib.exptest.IsUndefinedExpTest", "com.hubspot.jinjava.lib.exptest.IsUpperExpTest",
            "com.hubspot.jinjava.lib.exptest.IsWithinExpTest", "com.hubspot.jinjava.lib.filter.AbsFilter",
            "com.hubspot.jinjava.lib.filter.AddFilter", "com.hubspot.jinjava.lib.filter.AllowSnakeCaseFilter",
            "com.hubspot.jinjava.lib.filter.AttrFilter", "com.hubspot.jinjava.lib.filter.Base64DecodeFilter",
            "com.hubspot.jinjava.lib.filter.Base64EncodeFilter", "com.hubspot.jinjava.lib.filter.BatchFilter",
            "com.hubspot.jinjava.lib.filter.BetweenTimesFilter", "com.hubspot.jinjava.lib.filter.BoolFilter",
            "com.hubspot.jinjava.lib.filter.CapitalizeFilter", "com.hubspot.jinjava.lib.filter.CenterFilter",
            "com.hubspot.jinjava.lib.filter.CountFilter", "com.hubspot.jinjava.lib.filter.CutFilter",
            "com.hubspot.jinjava.lib.filter.DAliasedDefaultFilter", "com.hubspot.jinjava.lib.filter.DateTimeFormatFilter",
            "com.hubspot.jinjava.lib.filter.DatetimeFilter", "com.hubspot.jinjava.lib.filter.DefaultFilter",
            "com.hubspot.jinjava.lib.filter.DictSortFilter", "com.hubspot.jinjava.lib.filter.DifferenceFilter",
            "com.hubspot.jinjava.lib.filter.DivideFilter", "com.hubspot.jinjava.lib.filter.DivisibleFilter",
            "com.hubspot.jinjava.lib.filter.EAliasedEscapeFilter", "com.hubspot.jinjava.lib.filter.EscapeFilter",
            "com.hubspot.jinjava.lib.filter.EscapeJinjavaFilter", "com.hubspot.jinjava.lib.filter.EscapeJsFilter",
            "com.hubspot.jinjava.lib.filter.EscapeJsonFilter", "com.hubspot.jinjava.lib.filter.FileSizeFormatFilter",
            "com.hubspot.jinjava.lib.filter.FirstFilter", "com.hubspot.jinjava.lib.filter.FloatFilter",
            "com.hubspot.jinjava.lib.filter.ForceEscapeFilter", "com.hubspot.jinjava.lib.filter.FormatFilter",
            "com.hubspot.jinjava.lib.filter.FormatNumberFilter", "com.hubspot.jinjava.lib.filter.FromJsonFilter",
            "com.hubspot.jinjava.lib.filter.FromYamlFilter", "com.hubspot.jinjava.lib.filter.GroupByFilter",
            "com.hubspot.jinjava.lib.filter.IndentFilter", "com.hubspot.jinjava.lib.filter.IntFilter",
            "com.hubspot.jinjava.lib.filter.IntersectFilter", "com.hubspot.jinjava.lib.filter.IpAddrFilter",
            "com.hubspot.jinjava.lib.filter.Ipv4Filter", "com.hubspot.jinjava.lib.filter.Ipv6Filter",
            "com.hubspot.jinjava.lib.filter.JoinFilter", "com.hubspot.jinjava.lib.filter.LastFilter",
            "com.hubspot.jinjava.lib.filter.LengthFilter", "com.hubspot.jinjava.lib.filter.ListFilter",
            "com.hubspot.jinjava.lib.filter.LogFilter", "com.hubspot.jinjava.lib.filter.LowerFilter",
            "com.hubspot.jinjava.lib.filter.MapFilter", "com.hubspot.jinjava.lib.filter.Md5Filter",
            "com.hubspot.jinjava.lib.filter.MinusTimeFilter", "com.hubspot.jinjava.lib.filter.MultiplyFilter",
            "com.hubspot.jinjava.lib.filter.PlusTimeFilter", "com.hubspot.jinjava.lib.filter.PrettyPrintFilter",
            "com.hubspot.jinjava.lib.filter.RandomFilter", "com.hubspot.jinjava.lib.filter.RegexReplaceFilter",
            "com.hubspot.jinjava.lib.filter.RejectAttrFilter", "com.hubspot.jinjava.lib.filter.RejectFilter",
            "com.hubspot.jinjava.lib.filter.RenderFilter", "com.hubspot.jinjava.lib.filter.ReplaceFilter",
            "com.hubspot.jinjava.lib.filter.ReverseFilter", "com.hubspot.jinjava.lib.filter.RootFilter",
            "com.hubspot.jinjava.lib.filter.RoundFilter", "com.hubspot.jinjava.lib.filter.SafeFilter",
            "com.hubspot.jinjava.lib.filter.SelectAttrFilter", "com.hubspot.jinjava.lib.filter.SelectFilter",
            "com.hubspot.jinjava.lib.filter.ShuffleFilter", "com.hubspot.jinjava.lib.filter.SliceFilter",
            "com.hubspot.jinjava.lib.filter.SortFilter", "com.hubspot.jinjava.lib.filter.SplitFilter",
            "com.hubspot.jinjava.lib.filter.StringFilter", "com.hubspot.jinjava.lib.filter.StringToDateFilter",
            "com.hubspot.jinjava.lib.filter.StringToTimeFilter", "com.hubspot.jinjava.lib.filter.StripTagsFilter",
            "com.hubspot.jinjava.lib.filter.SumFilter", "com.hubspot.jinjava.lib.filter.SymmetricDifferenceFilter",
            "com.hubspot.jinjava.lib.filter.TitleFilter", "com.hubspot.jinjava.lib.filter.ToJsonFilter",
            "com.hubspot.jinjava.lib.filter.ToYamlFilter", "com.hubspot.jinjava.lib.filter.TrimFilter",
            "com.hubspot.jinjava.lib.filter.TruncateFilter", "com.hubspot.jinjava.lib.filter.TruncateHtmlFilter",
            "com.hubspot.jinjava.lib.filter.UnescapeHtmlFilter", "com.hubspot.jinjava.lib.filter.UnionFilter",
            "com.hubspot.jinjava.lib.filter.UniqueFilter", "com.hubspot.jinjava.lib.filter.UnixTimestampFilter",
            "com.hubspot.jinjava.lib.filter.UpperFilter", "com.hubspot.jinjava.lib.filter.UrlDecodeFilter",
            "com.hubspot.jinjava.lib.filter.UrlEncodeFilter", "com.hubspot.jinjava.lib.filter.UrlizeFilter",
            "com.hubspot.jinjava.lib.filter.WordCountFilter", "com.hubspot.jinjava.lib.filter.WordWrapFilter",
            "com.hubspot.jinjava.lib.filter.XmlAttrFilter", "com.hubspot.jinjava.lib.filter.time.FormatDateFilter",
            "com.hubspot.jinjava.lib.filter.time.FormatDatetimeFilter", "com.hubspot.jinjava.lib.filter.time.FormatTimeFilter",
            "com.hubspot.jinjava.lib.fn.Functions", "com.hubspot.jinjava.lib.fn.TypeFunction",
            "com.hubspot.jinjava.lib.tag.AutoEscapeTag", "com.hubspot.jinjava.lib.tag.BlockTag",
            "com.hubspot.jinjava.lib.tag.BreakTag", "com.hubspot.jinjava.lib.tag.CallTag",
            "com.hubspot.jinjava.lib.tag.ContinueTag", "com.hubspot.jinjava.lib.tag.CycleTag", "com.hubspot.jinjava.lib.tag.DoTag",
            "com.hubspot.jinjava.lib.tag.ElseIfTag", "com.hubspot.jinjava.lib.tag.ElseTag", "com.hubspot.jinjava.lib.tag.EndTag",
            "com.hubspot.jinjava.lib.tag.ExtendsTag", "com.hubspot.jinjava.lib.tag.ForTag", "com.hubspot.jinjava.lib.tag.FromTag",
            "com.hubspot.jinjava.lib.tag.IfTag", "com.hubspot.jinjava.lib.tag.IfchangedTag",
            "com.hubspot.jinjava.lib.tag.ImportTag", "com.hubspot.jinjava.lib.tag.IncludeTag",
            "com.hubspot.jinjava.lib.tag.MacroTag", "com.hubspot.jinjava.lib.tag.PrintTag", "com.hubspot.jinjava.lib.tag.RawTag",
            "com.hubspot.jinjava.lib.tag.SetTag", "com.hubspot.jinjava.lib.tag.UnlessTag", "com.hubspot.jinjava.util.ForLoop"})
    static final class Jinjava {
    }

    /**
     * DJL finds its engines with a ServiceLoader over META-INF/services/ai.djl.engine.EngineProvider
     * (Quarkus turns native-image's automatic service registration off): every provider listed
     * there must be constructible (the api jar lists its RPC engine, the tokenizers jar its Rust one), or the
     * loader fails before PyTorch is reached.
     */
    @RegisterForReflection(classNames = {"ai.djl.pytorch.engine.PtEngineProvider", "ai.djl.engine.rust.RsEngineProvider",
            "ai.djl.engine.rpc.RpcEngineProvider"})
    static final class DjlEngines {
    }
}
