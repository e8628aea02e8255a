package nodeagent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/railnet/railnet/test/poll"
)

// freeAddr returns a free loopback address for the metrics endpoint.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// checkMetrics polls /metrics until every series has its value (the
// collector reads the agent's latest discovery).
func checkMetrics(t *testing.T, addr string, want map[string]string) {
	t.Helper()
	poll.Until(t, 10*time.Second, "the metrics at "+addr, func() error {
		got := map[string]string{}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
					got[line[:i]] = line[i+1:]
				}
			}
			resp.Body.Close()
		}
		var missing []string
		for k, v := range want {
			if got[k] != v {
				missing = append(missing, fmt.Sprintf("%s = %q, want %q", k, got[k], v))
			}
		}
		if len(missing) > 0 {
			return errors.New(strings.Join(missing, "; "))
		}
		return nil
	})
}

// checkTable asks the API server for the table `kubectl get rdmanodes`
// prints and compares the RAILS-UP, RAILS and MODE cells of node's row.
func checkTable(t *testing.T, node string, want []string) {
	t.Helper()
	hc, err := rest.HTTPClientFor(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cluster.Config.Host+"/apis/railnet.io/v1alpha1/rdmanodes/"+node, nil)
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var table metav1.Table
	if err := json.Unmarshal(body, &table); err != nil || len(table.Rows) != 1 {
		t.Fatalf("table: %v: %s", err, body)
	}
	cols := map[string]int{}
	for i, c := range table.ColumnDefinitions {
		cols[c.Name] = i
	}
	var got []string
	for _, name := range []string{"RAILS-UP", "RAILS", "MODE"} {
		i, ok := cols[name]
		if !ok {
			t.Fatalf("no column %s in %v", name, table.ColumnDefinitions)
		}
		got = append(got, fmt.Sprint(table.Rows[0].Cells[i]))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("kubectl get rdmanodes %s shows %v, want %v", node, got, want)
	}
}
