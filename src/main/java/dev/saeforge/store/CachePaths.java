package dev.saeforge.store;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Names from a bucket listing or a hub repository (S3 keys, hub file names, commits) used as paths
 * in the local cache. Whoever can write to the bucket or repository chooses them, so a name that
 * would land outside its cache directory, such as {@code data/../../../.docker/config.json} or an
 * absolute key, is refused rather than followed.
 */
public final class CachePaths {
    /** A git commit as the hub names it: 40 lowercase hexadecimal digits. */
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private CachePaths() {
    }

    /**
     * {@code dir}/{@code name}, where {@code name} (relative, '/'-separated) stays inside
     * {@code dir}; {@code what} says whose name it is for the message, e.g. "S3 key of s3://bucket".
     */
    public static Path inside(Path dir, String name, String what) {
        String problem = problem(name);
        if (problem == null) {
            Path base = dir.toAbsolutePath().normalize();
            Path target = base.resolve(name).normalize();
            if (!target.startsWith(base) || target.equals(base)) {
                problem = "it does not name a file inside the cache directory";
            }
        }
        if (problem != null) {
            throw new IllegalArgumentException(what + " \"" + printable(name) + "\" is refused: " + problem
                    + "; a name from a bucket or repository must stay inside the cache directory " + dir);
        }
        return dir.resolve(name);
    }

    /** {@code commit} as the hub answered it for {@code repo}, which must be a commit hash before it becomes a directory. */
    public static String commit(String commit, String repo) {
        if (!COMMIT.matcher(commit).matches()) {
            throw new IllegalArgumentException("the hub answered commit \"" + printable(commit) + "\" for " + repo
                    + "; expected 40 hexadecimal digits");
        }
        return commit;
    }

    private static String problem(String name) {
        if (name.isEmpty()) {
            return "it is empty";
        }
        if (name.indexOf('\0') >= 0) {
            return "it holds a NUL character";
        }
        if (name.indexOf('\\') >= 0) {
            return "it holds a backslash";
        }
        if (name.startsWith("/")) {
            return "it is an absolute path";
        }
        for (String segment : name.split("/", -1)) {
            if (segment.equals("..") || segment.equals(".")) {
                return "it has a \"" + segment + "\" segment";
            }
        }
        try {
            Path.of(name);
        } catch (InvalidPathException e) {
            return "it is not a valid file name here (" + e.getReason() + ")";
        }
        return null;
    }

    /** The name with control characters escaped, so that a message shows what was refused. */
    private static String printable(String name) {
        StringBuilder out = new StringBuilder();
        for (char c : name.toCharArray()) {
            out.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return out.toString();
    }
}
