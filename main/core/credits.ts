/** The bundled sample plates come from audubon.org's scans; their source asks for this credit wherever they ship. */
export const SAMPLE_PLATES_CREDIT =
  'Sample plates: John James Audubon, The Birds of America (Havell edition, 1827–38). ' +
  'Courtesy of the John James Audubon Center at Mill Grove, Montgomery County Audubon Collection, and Zebra Publishing.';
