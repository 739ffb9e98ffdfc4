package bot

import (
	"strings"
	"testing"
)

func TestAccessListRefusal(t *testing.T) {
	tests := []struct {
		name     string
		channels string
		users    string
		channel  string
		user     string
		want     string
	}{
		{"empty lists allow everyone", "", "", "C1", "U1", ""},
		{"blank entries allow everyone", " , ,", "", "C1", "U1", ""},
		{"listed channel", "C1,C2", "", "C2", "U9", ""},
		{"unlisted channel", "C1,C2", "", "C3", "U9", rejectedChannel},
		{"listed user", "", "U1, W2", "C9", "W2", ""},
		{"unlisted user", "", "U1,W2", "C9", "U3", rejectedUser},
		{"both lists pass", "C1", "U1", "C1", "U1", ""},
		{"user listed channel not", "C1", "U1", "C2", "U1", rejectedChannel},
		{"channel listed user not", "C1", "U1", "C1", "U2", rejectedUser},
		{"unlisted dm", "C1", "", "D1", "U1", rejectedChannel},
		{"listed dm", "C1,D1", "", "D1", "U1", ""},
		{"empty user refused", "", "U1", "C1", "", rejectedUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAccessList(tt.channels, tt.users)
			if err != nil {
				t.Fatalf("newAccessList: %v", err)
			}
			if got := a.rejection(tt.channel, tt.user); got != tt.want {
				t.Errorf("rejection(%s, %s) = %q, want %q", tt.channel, tt.user, got, tt.want)
			}
		})
	}
}

func TestAccessListInvalid(t *testing.T) {
	tests := []struct {
		name     string
		channels string
		users    string
		want     string
	}{
		{"channel name", "#general", "", `invalid ALLOWED_CHANNELS: expected a Slack channel id such as C0123ABCD, got "#general"`},
		{"user id as channel", "U123", "", "invalid ALLOWED_CHANNELS"},
		{"lower case", "c123", "", "invalid ALLOWED_CHANNELS"},
		{"channel as user", "", "C123", `invalid ALLOWED_USERS: expected a Slack user id such as U0123ABCD, got "C123"`},
		{"space inside", "", "U1 U2", "invalid ALLOWED_USERS"},
		{"prefix only", "C", "", "invalid ALLOWED_CHANNELS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newAccessList(tt.channels, tt.users)
			if err == nil {
				t.Fatal("newAccessList returned no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseIDSet(f *testing.F) {
	for _, seed := range []string{"", "C1,C2", " C1 , ,G2,D3", "#x", "C\x00", "U1,U1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		set, err := parseIDSet(value, "CGD", "a channel id")
		if err != nil {
			if set != nil {
				t.Fatal("error with a non-nil set")
			}
			return
		}
		for id := range set {
			if checkSlackID(id, "CGD", "a channel id") != nil {
				t.Fatalf("accepted invalid id %q", id)
			}
			if !strings.Contains(value, id) {
				t.Fatalf("id %q is not in the input", id)
			}
		}
		if strings.Trim(value, " ,\t") == "" && set != nil {
			t.Fatal("blank list gave a non-nil set, which would reject everyone")
		}
	})
}
