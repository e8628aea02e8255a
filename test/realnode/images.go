package realnode

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/railnet/railnet/test/ground"
)

// Local image references of the test ground's real nodes. They live in no
// registry: pods use them with imagePullPolicy IfNotPresent or Never.
const (
	// PauseImage is containerd's sandbox_image, built from ./pause.
	PauseImage = "localhost/railnet-test/pause:1.0"
	// BusyboxImage is Debian's busybox-static with its applets linked in
	// /bin: the workload image of tests and the demo (sh, sleep, ip).
	BusyboxImage = "localhost/railnet-test/busybox:1.35"
)

// File is one entry of an image's single layer.
type File struct {
	// Path inside the image, absolute.
	Path string
	// Source is the host file copied in (its mode is kept); empty with
	// Link set makes a symbolic link.
	Source string
	// Link is a symbolic link's target.
	Link string
}

// Image is a single-layer linux/amd64 image built from host files.
type Image struct {
	Ref        string
	Files      []File
	Entrypoint []string
	Env        []string
	// User is the image's USER ("uid:gid"), empty for root.
	User string
}

// WriteTarball writes the image as an image tarball (docker save format, as
// `ctr images import` reads it) to path.
func (im Image) WriteTarball(path string) error {
	layerTar, err := im.layer()
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return fmt.Errorf("image %s: layer: %w", im.Ref, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("image %s: %w", im.Ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Entrypoint = im.Entrypoint
	cfg.Config.User = im.User
	cfg.Config.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, im.Env...)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return fmt.Errorf("image %s: config: %w", im.Ref, err)
	}
	tag, err := name.NewTag(im.Ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", im.Ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("write image %s to %s: %w", im.Ref, path, err)
	}
	return nil
}

// layer returns the image's one layer as a tar stream: parent folders
// first, then the files and links.
func (im Image) layer() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var addDir func(string) error
	addDir = func(d string) error {
		if d == "/" || d == "." || dirs[d] {
			return nil
		}
		if err := addDir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755})
	}
	files := append([]File(nil), im.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, dir := range []string{"/tmp", "/etc", "/proc", "/sys", "/dev"} {
		if err := addDir(dir); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := addDir(path.Dir(f.Path)); err != nil {
			return nil, err
		}
		hdrName := strings.TrimPrefix(f.Path, "/")
		if f.Source == "" {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: hdrName, Linkname: f.Link, Mode: 0o777}); err != nil {
				return nil, err
			}
			continue
		}
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Ref, err)
		}
		st, err := os.Stat(f.Source)
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: hdrName, Mode: int64(st.Mode().Perm()), Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BusyboxImageSpec is BusyboxImage from the machine's busybox-static: the
// binary and one link per applet in /bin.
func BusyboxImageSpec(ctx context.Context) (Image, error) {
	bin, err := exec.LookPath("busybox")
	if err != nil {
		return Image{}, fmt.Errorf("busybox not found (install Debian's busybox-static): %w", err)
	}
	if f, err := elf.Open(bin); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				f.Close()
				return Image{}, fmt.Errorf("%s is dynamically linked: a one-file image needs Debian's busybox-static", bin)
			}
		}
		f.Close()
	}
	out, err := exec.CommandContext(ctx, bin, "--list").Output()
	if err != nil {
		return Image{}, fmt.Errorf("busybox --list: %w", err)
	}
	files := []File{{Path: "/bin/busybox", Source: bin}}
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" {
			files = append(files, File{Path: "/bin/" + applet, Link: "busybox"})
		}
	}
	return Image{Ref: BusyboxImage, Files: files, Entrypoint: []string{"/bin/sh"}}, nil
}

// BaseImages builds the pause and busybox images into dir (once per dir)
// and returns their tarballs.
func BaseImages(ctx context.Context, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := ground.BuildCommands(ctx, dir, "./test/realnode/pause"); err != nil {
		return nil, err
	}
	busybox, err := BusyboxImageSpec(ctx)
	if err != nil {
		return nil, err
	}
	images := []Image{
		{Ref: PauseImage, Files: []File{{Path: "/pause", Source: filepath.Join(dir, "pause")}}, Entrypoint: []string{"/pause"}},
		busybox,
	}
	var out []string
	for _, im := range images {
		p := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(im.Ref)+".tar")
		if err := im.WriteTarball(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
