package dev.jvllm.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Discovery and selection of backends found with {@link ServiceLoader}.
 *
 * <p>Selection order for {@link #select(String, BackendOptions)}: an explicit name (from
 * {@code --backend}), else the system property {@code jvllm.backend}, else {@link #best()}.
 */
public final class Backends {
    /** System property naming the backend to use when no {@code --backend} is given. */
    public static final String PROPERTY = "jvllm.backend";

    private Backends() {
    }

    /** Every provider on the class path, highest priority first, available or not. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> all = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            all.add(p);
        }
        all.sort(Comparator.comparingInt(BackendProvider::priority).reversed()
                .thenComparing(BackendProvider::name));
        return List.copyOf(all);
    }

    /** Providers whose probe reports available, highest priority first. */
    public static List<BackendProvider> available() {
        return providers().stream().filter(p -> p.probe().available()).toList();
    }

    /**
     * The provider with this name.
     *
     * @throws IllegalArgumentException listing the names found when there is none
     */
    public static BackendProvider byName(String name) {
        List<BackendProvider> all = providers();
        for (BackendProvider p : all) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("no backend named \"" + name + "\"; found: "
                + all.stream().map(BackendProvider::name).toList()
                + " (a backend is found through META-INF/services/dev.jvllm.api.BackendProvider on the class path)");
    }

    /**
     * The highest-priority available provider.
     *
     * @throws IllegalStateException listing every provider and why it is unavailable
     */
    public static BackendProvider best() {
        List<BackendProvider> all = providers();
        for (BackendProvider p : all) {
            if (p.probe().available()) {
                return p;
            }
        }
        StringBuilder sb = new StringBuilder("no available backend:");
        for (BackendProvider p : all) {
            sb.append("\n  ").append(p.name()).append(": ").append(p.probe().reason());
        }
        if (all.isEmpty()) {
            sb.append(" no provider on the class path");
        }
        throw new IllegalStateException(sb.toString());
    }

    /**
     * Resolves the backend to use and creates it.
     *
     * @param name explicit name ({@code --backend}); null or blank falls back to the
     *     {@value #PROPERTY} property, then to {@link #best()}
     * @throws IllegalStateException when the named backend is unavailable, with its reason
     */
    public static Backend select(String name, BackendOptions options) {
        String chosen = name;
        if (chosen == null || chosen.isBlank()) {
            chosen = System.getProperty(PROPERTY);
        }
        BackendProvider p = (chosen == null || chosen.isBlank()) ? best() : byName(chosen);
        BackendProvider.Probe probe = p.probe();
        if (!probe.available()) {
            throw new IllegalStateException("backend \"" + p.name() + "\" is unavailable: " + probe.reason());
        }
        return p.create(options);
    }
}
