package dev.jvllm.conformance.ops;

import static dev.jvllm.conformance.ops.CoreOpsCases.*;

import dev.jvllm.api.DType;
import dev.jvllm.api.Tensor;
import dev.jvllm.api.ops.OpKind;
import dev.jvllm.api.ops.Rotary;
import dev.jvllm.conformance.CaseBuilder;
import dev.jvllm.conformance.Checked;
import dev.jvllm.conformance.Gens;
import dev.jvllm.conformance.Instance;
import dev.jvllm.conformance.OpSpec;
import dev.jvllm.conformance.Tolerance;
import java.util.ArrayList;
import java.util.List;
import org.quicktheories.core.Gen;

/**
 * Conformance of {@link Rotary}: neox and GPT-J layouts, full and partial rotary (rotaryDim =
 * headSize, /2, /4), model head sizes, GQA ratios 1/2/4/8, k absent or present, positions that
 * repeat and come in any order (a batch of prefills and decodes), and q/k either their own
 * tensors or {@code narrowLast} views of one fused [T, (Hq + 2Hk)·D] qkv state, as models call
 * it. q and k are rotated in place: {@link CoreOpsCases#elementwise} (the pair products cancel, so
 * atol carries the comparison near 0); v, next to them in the fused row, must stay bit-identical.
 */
public final class RotarySpec extends OpSpec<RotarySpec.Case> {

    /**
     * @param rotaryDiv rotaryDim = headSize / rotaryDiv (rounded down to even, at least 2)
     * @param gqa       Hq / Hk
     * @param sorted    positions ascending per request like a prefill, else shuffled with repeats
     */
    public record Case(int tokens, int qHeads, int gqa, int headSize, int rotaryDiv, boolean neox, DType dtype,
            boolean fused, boolean withK, boolean sorted) {
        int rotaryDim() {
            return Math.max(2, headSize / rotaryDiv / 2 * 2);
        }

        int kvHeads() {
            return qHeads / gqa;
        }
    }

    @Override
    public OpKind op() {
        return OpKind.ROTARY;
    }

    @Override
    public Gen<Case> cases() {
        Gen<int[]> gqa = Gens.oneOf(new int[] {1, 1}, new int[] {2, 1}, new int[] {2, 2}, new int[] {4, 4},
                new int[] {8, 8}, new int[] {8, 2}, new int[] {4, 1});
        return tokens(33).zip(gqa, Gens.size(2, 256, 64, 80, 96, 128, 256, 2, 16, 18).map(d -> d % 2 == 1 ? d + 1 : d),
                floats(), flags(6), (t, g, d, dt, f) -> new Case(t, g[0], g[1], d, 1 << (f & 3) % 3, bit(f, 2), dt,
                        bit(f, 3), !bit(f, 4) || bit(f, 3), bit(f, 5)));
    }

    @Override
    public List<Case> pinned() {
        return List.of(
                new Case(7, 4, 2, 128, 1, true, DType.BF16, true, true, false), // Llama-style fused qkv, GQA 2
                new Case(1, 8, 8, 64, 2, false, DType.F32, false, true, true), // GPT-J partial, one decode token
                new Case(17, 2, 1, 80, 4, true, DType.F16, true, true, true), // Phi-style partial rotary
                new Case(3, 1, 1, 256, 1, false, DType.BF16, false, false, false), // q only
                new Case(0, 2, 2, 64, 1, true, DType.F32, false, true, false)); // empty batch
    }

    @Override
    public String name(Case c) {
        return "rotary[T=" + c.tokens() + ",Hq=" + c.qHeads() + ",gqa=" + c.gqa() + ",D=" + c.headSize() + ",rd="
                + c.rotaryDim() + (c.neox() ? ",neox" : ",gptj") + "," + dt(c.dtype()) + (c.fused() ? ",fused" : "")
                + (c.withK() ? "" : ",q-only") + (c.sorted() ? ",sorted" : "") + "]";
    }

    @Override
    public String dtypeLabel(Case c) {
        return dt(c.dtype());
    }

    @Override
    public Instance instantiate(Case c, CaseBuilder b) {
        int t = c.tokens(), d = c.headSize(), rd = c.rotaryDim(), hq = c.qHeads(), hk = c.kvHeads();
        // positions: fewer cache rows than tokens sometimes, so they repeat
        int maxPos = 1 + b.random().nextInt(Math.max(1, 2 * t));
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = b.random().nextInt(maxPos);
        }
        if (c.sorted()) {
            java.util.Arrays.sort(pos);
        }
        float[] cs = new float[maxPos * rd];
        for (int p = 0; p < maxPos; p++) {
            for (int i = 0; i < rd / 2; i++) {
                double angle = p * Math.pow(10000, -2.0 * i / rd);
                cs[p * rd + i] = (float) Math.cos(angle);
                cs[p * rd + rd / 2 + i] = (float) Math.sin(angle);
            }
        }
        Tensor cosSin = b.input(DType.F32, cs, maxPos, rd);
        Tensor q, k, v = null;
        if (c.fused()) {
            Tensor qkv = b.state(c.dtype(), -2, 2, t, (hq + 2 * hk) * d);
            q = qkv.narrowLast(0, hq * d);
            k = qkv.narrowLast(hq * d, hk * d);
            v = qkv.narrowLast((hq + hk) * d, hk * d);
        } else {
            q = b.state(c.dtype(), -2, 2, t, hq * d);
            k = c.withK() ? b.state(c.dtype(), -2, 2, t, hk * d) : null;
        }
        Tolerance tol = elementwise(c.dtype());
        List<Checked> checked = new ArrayList<>();
        checked.add(new Checked("q", q, tol, null));
        if (k != null) {
            checked.add(new Checked("k", k, tol, null));
        }
        if (v != null) {
            checked.add(new Checked("v", v, Tolerance.BIT_EXACT, null));
        }
        return b.build(new Rotary(b.ints(pos, t), q, k, cosSin, d, rd, c.neox()), checked.toArray(Checked[]::new));
    }

    @Override
    public double flops(Case c) {
        return 3.0 * c.tokens() * (c.qHeads() + (c.withK() ? c.kvHeads() : 0)) * c.rotaryDim();
    }

    @Override
    public double bytes(Case c) {
        return 2.0 * c.tokens() * (c.qHeads() + (c.withK() ? c.kvHeads() : 0)) * c.rotaryDim() * c.dtype().byteSize()
                + 4.0 * c.tokens() * c.rotaryDim();
    }
}
