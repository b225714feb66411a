// Names of generation directories inside a job directory (coordinator and agents agree on
// them: an incremental image names older images by their generation directory).
const pad = (n: number) => String(n).padStart(6, '0');
export const genName = (n: number) => `gen-${pad(n)}`;
export const partialName = (n: number) => `.gen-${pad(n)}.partial`;
