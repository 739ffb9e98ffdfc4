package bot

import "fmt"

// Bounds of the file variables. The Tess API takes files up to 200 MB and at most 5 files
// per execution. maxTessFileCap only catches typing errors, because Tess itself keeps
// about 30 files per account.
const (
	maxFileMaxBytes = 200 << 20
	maxFileMaxCount = 5
	maxTessFileCap  = 1000
)

// validateFiles checks FILE_MAX_BYTES, FILE_MAX_COUNT and TESS_FILE_CAP, reporting each
// problem to check.
func (c Config) validateFiles(check func(name string, err error)) {
	if c.FileMaxBytes < 1 || c.FileMaxBytes > maxFileMaxBytes {
		check("FILE_MAX_BYTES", fmt.Errorf("expected a size in bytes from 1 to %d (200 MB), got %d",
			maxFileMaxBytes, c.FileMaxBytes))
	}
	check("FILE_MAX_COUNT", checkRange(c.FileMaxCount, 1, maxFileMaxCount))
	if c.TessFileCap < c.FileMaxCount || c.TessFileCap > maxTessFileCap {
		// One message needs room for all of its files at once.
		check("TESS_FILE_CAP", fmt.Errorf("expected an integer from FILE_MAX_COUNT (%d) to %d, got %d",
			c.FileMaxCount, maxTessFileCap, c.TessFileCap))
	}
}

// fileLimits returns the limits of the attacher.
func (c Config) fileLimits() fileLimits {
	return fileLimits{MaxBytes: c.FileMaxBytes, MaxCount: c.FileMaxCount, Cap: c.TessFileCap}
}
