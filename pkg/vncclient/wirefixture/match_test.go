package wirefixture

import (
	"strings"
	"testing"
)

const (
	uuidA = "8c84ff8a-1111-4222-8333-444455556666"
	uuidB = "8c84ff8a-7777-4888-8999-aaaabbbbcccc"
)

func TestMatchJSON(t *testing.T) {
	tests := []struct {
		name    string
		want    string
		got     string
		wantErr string // empty for a match
	}{
		{"equal", `{"a":[1,true,null,"x"]}`, `{"a":[1,true,null,"x"]}`, ""},
		{"number forms", `{"n":24}`, `{"n":24.0}`, ""},
		{"named uuid", `{"uuid":"<uuid:vn>","href":"<base>/virtual-network/<uuid:vn>"}`,
			`{"uuid":"` + uuidA + `","href":"http://127.0.0.1:8082/virtual-network/` + uuidA + `"}`, ""},
		{"named uuid differs", `{"a":"<uuid:vn>","b":"<uuid:vn>"}`, `{"a":"` + uuidA + `","b":"` + uuidB + `"}`, `$.b`},
		{"anonymous uuids", `["<uuid>","<uuid>"]`, `["` + uuidA + `","` + uuidB + `"]`, ""},
		{"not a uuid", `{"a":"<uuid>"}`, `{"a":"8C84FF8A-1111-4222-8333-444455556666"}`, `$.a`},
		{"any value", `{"id_perms":"<any>"}`, `{"id_perms":{"enable":true}}`, ""},
		{"any text", `"Name <any> not found"`, `"Name ['a'] not found"`, ""},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, `missing key "b"`},
		{"unexpected key", `{"a":1}`, `{"a":1,"c":3}`, `unexpected key "c"`},
		{"array length", `[1,2]`, `[1]`, `got 1 elements`},
		{"array order", `[1,2]`, `[2,1]`, `$[0]`},
		{"type", `{"a":"1"}`, `{"a":1}`, `$.a`},
		{"null", `{"a":null}`, `{"a":false}`, `$.a`},
		{"any still needs the key", `{"a":"<any>"}`, `{}`, `missing key "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBindings("http://127.0.0.1:8082")
			err := b.MatchJSON([]byte(tt.want), []byte(tt.got))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("MatchJSON: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("MatchJSON matched, want an error with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("MatchJSON error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestMatchBindsAcrossCalls(t *testing.T) {
	b := NewBindings("http://127.0.0.1:8082")
	if err := b.MatchJSON([]byte(`{"uuid":"<uuid:vn>"}`), []byte(`{"uuid":"`+uuidA+`"}`)); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.Get("uuid:vn"); v != uuidA {
		t.Fatalf("uuid:vn = %q, want %q", v, uuidA)
	}
	if err := b.MatchText("ID <uuid:vn> does not exist", "ID "+uuidB+" does not exist"); err == nil {
		t.Error("MatchText accepted another uuid for a bound name")
	}
	if err := b.MatchText("ID <uuid:vn> does not exist", "ID "+uuidA+" does not exist"); err != nil {
		t.Error(err)
	}
	if err := b.MatchText("<base>/x", "http://127.0.0.2:8082/x"); err == nil {
		t.Error("MatchText accepted another base")
	}
}

func TestMatchPath(t *testing.T) {
	b := NewBindings("http://127.0.0.1:8082")
	b.Set("uuid:p", uuidA)
	tests := []struct {
		got string
		ok  bool
	}{
		{"/virtual-networks?parent_id=" + uuidA + "&count=true", true},
		{"/virtual-networks?count=true&parent_id=" + uuidA, true},
		{"/virtual-networks?count=true", false},
		{"/virtual-networks?count=true&parent_id=" + uuidA + "&detail=true", false},
		{"/virtual-networks?count=true&parent_id=" + uuidB, false},
		{"/virtual-network?count=true&parent_id=" + uuidA, false},
	}
	for _, tt := range tests {
		err := b.MatchPath("/virtual-networks?parent_id=<uuid:p>&count=true", tt.got)
		if (err == nil) != tt.ok {
			t.Errorf("MatchPath(%q) = %v, want match %v", tt.got, err, tt.ok)
		}
	}
}

func TestExpand(t *testing.T) {
	b := NewBindings("http://127.0.0.1:8082/")
	n := 0
	b.NewUUID = func() string {
		n++
		return []string{uuidA, uuidB}[n-1]
	}
	got, err := b.ExpandJSON([]byte(`{"fq_name":["x__<uuid:vmi>"],"uuid":"<uuid:vmi>","href":"<base>/vmi/<uuid:vmi>","p":"<any>","o":"<uuid>"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"fq_name":["x__` + uuidA + `"],"href":"http://127.0.0.1:8082/vmi/` + uuidA + `","o":"` + uuidB + `","p":null,"uuid":"` + uuidA + `"}`
	if string(got) != want {
		t.Errorf("ExpandJSON =\n%s\nwant\n%s", got, want)
	}
	if _, err := (&Bindings{values: map[string]string{}}).Expand("<base>/x"); err == nil {
		t.Error("Expand of an unbound <base> succeeded")
	}
}

func TestLoadFixtures(t *testing.T) {
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		if f.Description == "" {
			t.Errorf("fixture %s has no description", f.Name)
		}
		switch f.Response.ContentType {
		case "application/json", "":
		case "text/plain":
			if _, err := f.Response.Text(); err != nil {
				t.Errorf("fixture %s: %v", f.Name, err)
			}
		default:
			t.Errorf("fixture %s: content_type %q", f.Name, f.Response.ContentType)
		}
	}
	setup, err := LoadSetup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(setup) == 0 {
		t.Error("setup.json has no objects")
	}
}
