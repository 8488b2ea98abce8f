/**
 * The VMAF model the tests score with: Netflix's v0.6.1 (`.pkl` with its `.pkl.model` beside it)
 * in ../shared/vmaf, the folder CI places beside the clone — the model libvmaf 2.x has built in
 * (lavfi-scorer.ts identifies it by its bytes).
 */
import path from 'node:path';

export const SHARED_VMAF_MODEL = path.resolve(import.meta.dirname, '../../../shared/vmaf/vmaf_v0.6.1.pkl');
