package dev.jvllm.models.layers;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A node of the model tree. Its {@code prefix} is its checkpoint name
 * ({@code model.layers.3.self_attn.qkv_proj}); parameters it declares are named
 * {@code prefix + "." + local}, exactly the names {@link WeightLoading} maps checkpoint tensors to.
 */
public abstract class Module {
    protected final ModelContext ctx;
    protected final String prefix;
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final List<Module> children = new ArrayList<>();

    protected Module(ModelContext ctx, String prefix) {
        this.ctx = ctx;
        this.prefix = prefix;
    }

    /** The checkpoint prefix of this module ("" for a root whose names start at the top). */
    public String prefix() {
        return prefix;
    }

    /** {@code prefix + "." + name}, or {@code name} when the prefix is empty. */
    public static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    /** Adds a child module (its own prefix decides its names). */
    protected <M extends Module> M add(M child) {
        children.add(child);
        return child;
    }

    /**
     * Declares a parameter {@code prefix.local}.
     *
     * @param shards the shard ids it is loaded from ({@code "q","k","v"}, {@code 0, 1}); none for a plain one
     */
    protected Param param(String local, Param.Loader loader, Object... shards) {
        return declare(local, loader, false, shards);
    }

    /** Declares a parameter the checkpoint may omit (loaded when present, never reported missing). */
    protected Param optionalParam(String local, Param.Loader loader, Object... shards) {
        return declare(local, loader, true, shards);
    }

    private Param declare(String local, Param.Loader loader, boolean optional, Object... shards) {
        String name = join(prefix, local);
        List<Object> expected = shards.length == 0 ? Collections.singletonList(null) : List.of(shards);
        Param p = new Param(name, loader, expected, optional);
        if (params.putIfAbsent(local, p) != null) {
            throw new IllegalStateException("parameter " + name + " declared twice");
        }
        return p;
    }

    /** This module and all its descendants, depth first (for reports such as weight memory by format). */
    public List<Module> modules() {
        List<Module> all = new ArrayList<>();
        all.add(this);
        for (Module c : children) {
            all.addAll(c.modules());
        }
        return all;
    }

    /** Every parameter of this module and its descendants, by full name, in declaration order. */
    public Map<String, Param> parameters() {
        Map<String, Param> all = new LinkedHashMap<>();
        collect(all);
        return all;
    }

    /** The parameters this module itself declares (a tied LM head declares none). */
    protected java.util.Collection<Param> ownParameters() {
        return params.values();
    }

    private void collect(Map<String, Param> all) {
        for (Param p : ownParameters()) {
            if (all.putIfAbsent(p.name(), p) != null) {
                throw new IllegalStateException("two modules declare parameter " + p.name());
            }
        }
        for (Module c : children) {
            c.collect(all);
        }
    }
}
