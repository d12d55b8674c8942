/**
 * The dataset the Dataset view shows, so the Training form can default to it (the views are
 * mounted one at a time, so this lives outside both).
 */
export const shownDataset = $state<{ id: number | null }>({ id: null });
