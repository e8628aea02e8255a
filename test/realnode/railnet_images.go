package realnode

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/railnet/railnet/test/ground"
)

// railnetImageNames maps each Dockerfile's folder to its image name, as
// `make images` tags them.
var railnetImageNames = map[string]string{
	"webhook":   "railnet-webhook",
	"extender":  "railnet-extender",
	"nodeagent": "railnet-agent",
}

var (
	dockerBuild = regexp.MustCompile(`^RUN CGO_ENABLED=0 go build .*-o (\S+) (.+)$`)
	dockerCopy  = regexp.MustCompile(`^COPY --from=build (.+) (\S+)$`)
)

// RailnetImages builds railnet's images without a container engine, from
// the same Dockerfiles `make images` uses: each RUN go build line is run
// (CGO_ENABLED=0, as there), the files its COPY line takes go into a
// single layer at the same places, with its ENTRYPOINT and USER. They are
// tagged exactly as the chart's defaults name them (image.registry /
// image.repository / <name> : appVersion), and the secondary scheduler's
// kube-scheduler image is made from the ground's own kube-scheduler, so the
// chart installs with its default image references. The distroless base
// layer (CA certificates, /etc/passwd) is not reproduced: railnet's binaries
// need neither. Tarballs are written into dir.
func RailnetImages(ctx context.Context, dir string) ([]string, error) {
	root, err := ground.ModuleRoot(ctx)
	if err != nil {
		return nil, err
	}
	values, err := chartDefaults(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, folder := range sortedKeys(railnetImageNames) {
		im, err := imageFromDockerfile(ctx, root, folder, filepath.Join(dir, folder))
		if err != nil {
			return nil, err
		}
		im.Ref = fmt.Sprintf("%s/%s/%s:%s", values.Registry, values.Repository, railnetImageNames[folder], values.AppVersion)
		p := filepath.Join(dir, railnetImageNames[folder]+".tar")
		if err := im.WriteTarball(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	cp, err := ground.BuildControlPlane(ctx)
	if err != nil {
		return nil, err
	}
	// The ground's kube-scheduler is linked against the C library (the
	// ground builds Kubernetes with cgo), so the image carries it beside the
	// binary, as a distroless/base image does.
	libs, err := sharedLibraries(ctx, cp.Scheduler)
	if err != nil {
		return nil, err
	}
	sched := Image{Ref: values.SchedulerImage, Entrypoint: []string{"/usr/local/bin/kube-scheduler"},
		Files: append([]File{{Path: "/usr/local/bin/kube-scheduler", Source: cp.Scheduler}}, libs...)}
	p := filepath.Join(dir, "kube-scheduler.tar")
	if err := sched.WriteTarball(p); err != nil {
		return nil, err
	}
	return append(out, p), nil
}

// ChartImages are the image references the chart's default values name.
type ChartImages struct {
	Registry, Repository, AppVersion string
	// SchedulerImage is the secondary scheduler's image.
	SchedulerImage string
}

func chartDefaults(root string) (ChartImages, error) {
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	var values struct {
		Image struct {
			Registry, Repository string
		} `json:"image"`
		Scheduler struct {
			Image struct{ Registry, Repository, Tag string } `json:"image"`
		} `json:"scheduler"`
	}
	for file, into := range map[string]any{"Chart.yaml": &chart, "values.yaml": &values} {
		b, err := os.ReadFile(filepath.Join(root, "charts", "railnet", file))
		if err != nil {
			return ChartImages{}, err
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			return ChartImages{}, fmt.Errorf("chart %s: %w", file, err)
		}
	}
	s := values.Scheduler.Image
	return ChartImages{Registry: values.Image.Registry, Repository: values.Image.Repository, AppVersion: chart.AppVersion,
		SchedulerImage: fmt.Sprintf("%s/%s:%s", s.Registry, s.Repository, s.Tag)}, nil
}

// imageFromDockerfile reads <folder>/Dockerfile, builds its binaries into
// binDir and returns the image its final stage describes.
func imageFromDockerfile(ctx context.Context, root, folder, binDir string) (Image, error) {
	file := filepath.Join(root, folder, "Dockerfile")
	f, err := os.Open(file)
	if err != nil {
		return Image{}, err
	}
	defer f.Close()
	var im Image
	outs := map[string]string{} // path in the build stage → built file
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case dockerBuild.MatchString(line):
			m := dockerBuild.FindStringSubmatch(line)
			dest, pkgs := m[1], strings.Fields(m[2])
			if err := os.MkdirAll(binDir, 0o755); err != nil {
				return Image{}, err
			}
			// As in the Dockerfile: -o a folder (one binary per package,
			// named after it) or -o a file (one package).
			target := binDir + "/"
			if !strings.HasSuffix(dest, "/") {
				target = filepath.Join(binDir, path.Base(dest))
				outs[dest] = target
			} else {
				for _, p := range pkgs {
					outs[dest+path.Base(p)] = filepath.Join(binDir, path.Base(p))
				}
			}
			args := append([]string{"build", "-trimpath", "-ldflags", "-s -w", "-o", target}, pkgs...)
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return Image{}, fmt.Errorf("%s: go build %v: %w\n%s", file, pkgs, err, b)
			}
		case dockerCopy.MatchString(line):
			m := dockerCopy.FindStringSubmatch(line)
			srcs, dest := strings.Fields(m[1]), m[2]
			for _, src := range srcs {
				built, ok := outs[src]
				if !ok {
					return Image{}, fmt.Errorf("%s: COPY takes %s, which no RUN go build line makes", file, src)
				}
				target := dest
				if strings.HasSuffix(dest, "/") {
					target = dest + path.Base(src)
				}
				im.Files = append(im.Files, File{Path: target, Source: built})
			}
		case strings.HasPrefix(line, "ENTRYPOINT "):
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "ENTRYPOINT ")), &im.Entrypoint); err != nil {
				return Image{}, fmt.Errorf("%s: ENTRYPOINT: %w", file, err)
			}
		case strings.HasPrefix(line, "USER "):
			im.User = strings.TrimPrefix(line, "USER ")
		}
	}
	if len(im.Files) == 0 || len(im.Entrypoint) == 0 {
		return Image{}, fmt.Errorf("%s: no COPY --from=build or ENTRYPOINT line", file)
	}
	return im, s.Err()
}

// sharedLibraries lists, as image files at their own paths, the shared
// libraries and the loader a dynamically linked binary needs (ldd's answer);
// none for a static one.
func sharedLibraries(ctx context.Context, bin string) ([]File, error) {
	out, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w\n%s", bin, err, out)
	}
	var files []File
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			files = append(files, File{Path: f[2], Source: f[2]})
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			files = append(files, File{Path: f[0], Source: f[0]})
		}
	}
	return files, nil
}
